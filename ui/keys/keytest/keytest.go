// Package keytest turns a binding into the key press that triggers it, so
// tests press keys by binding (km.Delete), never by literal letter, and a
// remap in a test is pressed as remapped. It imports bubbles/key and
// bubbletea; only tests import it.
package keytest

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

var named = map[string]tea.KeyPressMsg{
	"enter": {Code: tea.KeyEnter}, "esc": {Code: tea.KeyEscape}, "tab": {Code: tea.KeyTab},
	"shift+tab": {Code: tea.KeyTab, Mod: tea.ModShift}, "space": {Code: tea.KeySpace, Text: " "},
	"backspace": {Code: tea.KeyBackspace}, "up": {Code: tea.KeyUp}, "down": {Code: tea.KeyDown},
	"left": {Code: tea.KeyLeft}, "right": {Code: tea.KeyRight}, "home": {Code: tea.KeyHome},
	"end": {Code: tea.KeyEnd}, "pgup": {Code: tea.KeyPgUp}, "pgdown": {Code: tea.KeyPgDown},
}

// Key is the press of one key name as bindings spell it ("ctrl+d", "x").
func Key(k string) tea.KeyPressMsg {
	msg, ok := named[k]
	switch {
	case ok:
	case strings.HasPrefix(k, "ctrl+") && len([]rune(k)) == len("ctrl+")+1:
		msg = tea.KeyPressMsg{Code: []rune(k)[len("ctrl+")], Mod: tea.ModCtrl}
	case strings.HasPrefix(k, "alt+") && len([]rune(k)) == len("alt+")+1:
		msg = tea.KeyPressMsg{Code: []rune(k)[len("alt+")], Mod: tea.ModAlt}
	case len([]rune(k)) == 1:
		msg = tea.KeyPressMsg{Code: []rune(k)[0], Text: k}
	}
	if msg.String() != k {
		panic(fmt.Sprintf("keytest: cannot press %q (got %q)", k, msg.String()))
	}
	return msg
}

// Press is the press of b's first key.
func Press(b key.Binding) tea.KeyPressMsg {
	if len(b.Keys()) == 0 {
		panic(fmt.Sprintf("keytest: binding %q has no keys", b.Help().Desc))
	}
	return Key(b.Keys()[0])
}
