package common

import (
	"strings"

	tea "charm.land/bubbletea/v2"
)

// SecretField is a masked input that keeps what is typed in one []byte,
// never in a Go string, so that it can be cleared: textinput keeps its
// value as runes and hands it out as strings that stay in memory until
// the garbage collector reuses them. Growing the buffer clears the old
// one. (The terminal's key and paste messages are strings bubbletea
// makes; we keep none of them.) It takes printable ASCII only: cephx keys
// are base64 and CHAP secrets are ASCII; anything else typed or pasted is
// dropped, which also drops a pasted line's newline.
//
// Whoever owns a SecretField wipes it when the screen closes or goes
// back, and clears the bytes Take hands out once they were used.
type SecretField struct {
	// Prompt is written before the field (a form's label), Placeholder
	// instead of the dots while nothing is typed.
	Prompt, Placeholder string
	// Mask is shown once per typed character ("•" when empty; the iSCSI
	// wizard keeps the "*" its text inputs showed).
	Mask string
	// AllowSpace keeps spaces (a CHAP secret may hold them); without it
	// they are dropped with the other non-printables (a base64 key has
	// none, and a pasted one often brings some).
	AllowSpace bool

	buf     []byte
	focused bool
}

// Add appends the printable characters of s, moving to a larger buffer
// (and clearing the old one) when needed. Paste goes through Add.
func (f *SecretField) Add(s string) {
	if len(f.buf)+len(s) > cap(f.buf) {
		nb := make([]byte, len(f.buf), 2*(len(f.buf)+len(s))+64)
		copy(nb, f.buf)
		clear(f.buf[:cap(f.buf)])
		f.buf = nb
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c > ' ' || c == ' ' && f.AllowSpace) && c < 0x7f {
			f.buf = append(f.buf, c)
		}
	}
}

// Update edits the field: printable text, backspace, ctrl+u (clear).
// Other keys are left alone: the owner's bindings come first.
func (f *SecretField) Update(msg tea.KeyPressMsg) {
	switch msg.String() {
	case "backspace":
		if n := len(f.buf); n > 0 {
			f.buf[n-1] = 0
			f.buf = f.buf[:n-1]
		}
	case "ctrl+u":
		f.Wipe()
	default:
		if msg.Text != "" && (msg.Mod == 0 || msg.Mod == tea.ModShift) {
			f.Add(msg.Text)
		}
	}
}

// Take hands the bytes over and empties the field: the caller owns them
// now and clears them once used.
func (f *SecretField) Take() []byte {
	b := f.buf
	f.buf = nil
	return b
}

// Wipe clears the bytes in place and empties the field.
func (f *SecretField) Wipe() {
	clear(f.buf[:cap(f.buf)])
	f.buf = f.buf[:0]
}

// Empty reports whether nothing was typed.
func (f *SecretField) Empty() bool { return len(f.buf) == 0 }

// Len is how many bytes were typed (what the dots show).
func (f *SecretField) Len() int { return len(f.buf) }

// Focus shows the cursor; Blur hides it.
func (f *SecretField) Focus() { f.focused = true }

// Blur hides the cursor.
func (f *SecretField) Blur() { f.focused = false }

// Focused reports whether the field has the cursor.
func (f *SecretField) Focused() bool { return f.focused }

// View shows the prompt and one mark per character, never the characters.
func (f *SecretField) View() string {
	mask := f.Mask
	if mask == "" {
		mask = "•"
	}
	v := strings.Repeat(mask, len(f.buf))
	if f.focused {
		v += "▏"
	}
	if len(f.buf) == 0 && f.Placeholder != "" {
		v += f.Placeholder
	}
	return f.Prompt + v
}
