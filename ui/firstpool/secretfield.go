package firstpool

import (
	"strings"

	tea "charm.land/bubbletea/v2"
)

// secretField is a masked input that keeps what is typed in one []byte,
// never in a Go string, so that it can be cleared: textinput keeps its
// value as runes and hands it out as strings that stay in memory until
// the garbage collector reuses them. Growing the buffer clears the old one.
// (The terminal's key and paste messages are strings bubbletea makes; we
// keep none of them.)
type secretField struct {
	buf     []byte
	focused bool
}

// add appends b, moving to a larger buffer (and clearing the old one)
// when needed.
func (f *secretField) add(s string) {
	if len(f.buf)+len(s) > cap(f.buf) {
		nb := make([]byte, len(f.buf), 2*(len(f.buf)+len(s))+64)
		copy(nb, f.buf)
		clear(f.buf[:cap(f.buf)])
		f.buf = nb
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c > ' ' && c < 0x7f {
			f.buf = append(f.buf, c)
		}
	}
}

// key edits the field: printable text, backspace, ctrl+u (clear).
func (f *secretField) key(msg tea.KeyPressMsg) {
	switch msg.String() {
	case "backspace":
		if n := len(f.buf); n > 0 {
			f.buf[n-1] = 0
			f.buf = f.buf[:n-1]
		}
	case "ctrl+u":
		f.wipe()
	default:
		if msg.Text != "" && (msg.Mod == 0 || msg.Mod == tea.ModShift) {
			f.add(msg.Text)
		}
	}
}

// take hands the bytes over (the caller clears them) and empties the
// field.
func (f *secretField) take() []byte {
	b := f.buf
	f.buf = nil
	return b
}

// wipe clears the bytes in place.
func (f *secretField) wipe() {
	clear(f.buf[:cap(f.buf)])
	f.buf = f.buf[:0]
}

// empty reports whether nothing was typed.
func (f *secretField) empty() bool { return len(f.buf) == 0 }

// View shows one dot per character, never the characters.
func (f *secretField) View() string {
	v := strings.Repeat("•", len(f.buf))
	if f.focused {
		v += "▏"
	}
	if v == "" {
		return "(typed masked; base64, as in `ceph auth get-key client.libvirt`)"
	}
	return v
}
