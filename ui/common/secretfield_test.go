package common

import (
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

func typeSecret(f *SecretField, s string) {
	for _, r := range s {
		f.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// The field holds exactly what was typed, shows only dots, and every way
// the bytes leave it (backspace, ctrl+u, Wipe, growing the buffer) leaves
// zeros behind, not the secret.
func TestSecretFieldKeepsBytesAndClearsThem(t *testing.T) {
	f := &SecretField{Prompt: "CHAP secret: ", Placeholder: "(masked)"}
	if v := f.View(); v != "CHAP secret: (masked)" {
		t.Fatalf("empty view %q", v)
	}
	typeSecret(f, "ab")
	old := f.buf[:cap(f.buf)]
	// Growing moves to a larger buffer and clears the old one.
	f.Add(strings.Repeat("x", cap(f.buf)))
	if slices.ContainsFunc(old, func(b byte) bool { return b != 0 }) {
		t.Fatal("the buffer left behind when growing was not cleared")
	}
	f.Wipe()
	typeSecret(f, "s3cret!")
	f.Update(tea.KeyPressMsg{Code: tea.KeyBackspace})
	if string(f.buf) != "s3cret" || f.Len() != 6 {
		t.Fatalf("after backspace the field holds %q", f.buf)
	}
	if f.buf[:cap(f.buf)][6] != 0 {
		t.Error("backspace left the erased character in the buffer")
	}
	f.Focus()
	if v := f.View(); v != "CHAP secret: ••••••▏" || strings.Contains(v, "s3cret") {
		t.Fatalf("view %q: want the prompt, one dot per character and the cursor", v)
	}
	// Controls, escape sequences and non-ASCII are dropped; spaces too
	// unless the field allows them.
	f.Add(" \x1b[31m\t\n\x7fé")
	if string(f.buf) != "s3cret[31m" {
		t.Fatalf("after a paste with controls the field holds %q", f.buf)
	}
	f.AllowSpace = true
	f.Add(" a")
	if string(f.buf) != "s3cret[31m a" {
		t.Fatalf("AllowSpace: the field holds %q", f.buf)
	}
	buf := f.buf[:cap(f.buf)]
	f.Update(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	if !f.Empty() || slices.ContainsFunc(buf, func(b byte) bool { return b != 0 }) {
		t.Fatal("ctrl+u did not clear the bytes")
	}
	typeSecret(f, "handed")
	b := f.Take()
	if string(b) != "handed" || !f.Empty() {
		t.Fatalf("Take gave %q, field empty %v", b, f.Empty())
	}
	// The field no longer shares the taken bytes: typing again must not
	// write into what the caller holds.
	typeSecret(f, "zz")
	f.Wipe()
	if string(b) != "handed" {
		t.Fatalf("the field wrote into the taken bytes: %q", b)
	}
	f.Mask = "*"
	typeSecret(f, "abc")
	if v := f.View(); v != "CHAP secret: ***▏" {
		t.Fatalf("view with mask *: %q", v)
	}
}
