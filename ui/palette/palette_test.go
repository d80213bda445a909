package palette

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"stowage/themes"
	"stowage/ui/keys"
	"stowage/ui/keys/keytest"
)

// Host names completed after `host`, and what was typed, are shown
// escaped; the command returned keeps the name as it is.
func TestPaletteEscapesControlCharacters(t *testing.T) {
	const hv = "qemu+ssh://hv\u009b31m/system"
	km := keys.Default()
	m := New([]string{"pools"}, []string{hv}, km, themes.Styles{})
	for _, r := range "host q\x7f" {
		m, _ = m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	v := m.View()
	if strings.ContainsAny(v, "\u009b\x7f") || !strings.Contains(v, `:host q\x7f`) {
		t.Fatalf("typed text not escaped: %q", v)
	}
	m, _ = m.Update(keytest.Press(km.PaletteLine.Erase))
	m, _ = m.Update(keytest.Press(km.PaletteLine.Erase))
	v = m.View()
	if strings.ContainsAny(v, "\u009b\x7f") || !strings.Contains(v, `host qemu+ssh://hv\u009b31m/system`) {
		t.Fatalf("completion not escaped: %q", v)
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: 'q', Text: "q"})
	_, cmd := m.Update(keytest.Press(km.PaletteLine.Run))
	if run, ok := cmd().(RunMsg); !ok || run.Cmd != "host" || run.Arg != hv {
		t.Fatalf("enter gave %#v; want the host's name unchanged", cmd())
	}
}

// The line's keys are the keymap's: after a remap the old key is text.
func TestPaletteKeysFollowTheKeymap(t *testing.T) {
	km := keys.Default()
	if err := km.Remap(map[string][]string{"palette.complete": {"ctrl+t"}}); err != nil {
		t.Fatal(err)
	}
	m := New([]string{"pools", "volumes"}, nil, km, themes.Styles{})
	m, _ = m.Update(tea.KeyPressMsg{Code: 'v', Text: "v"})
	m, _ = m.Update(keytest.Press(keys.Default().PaletteLine.Complete))
	if m.Input() == "volumes" {
		t.Fatal("the default complete key still completes after the remap")
	}
	m = New([]string{"pools", "volumes"}, nil, km, themes.Styles{})
	m, _ = m.Update(tea.KeyPressMsg{Code: 'v', Text: "v"})
	m, _ = m.Update(keytest.Press(km.PaletteLine.Complete))
	if m.Input() != "volumes" {
		t.Fatalf("the remapped complete key gave %q", m.Input())
	}
	_, cmd := m.Update(keytest.Press(km.PaletteLine.Close))
	if _, ok := cmd().(CloseMsg); !ok {
		t.Fatal("the close key does not close")
	}
}

// `diagnose` completes host names as `host` does, and runs with the host
// named (or none: the selected row's object).
func TestPaletteDiagnoseCompletesHosts(t *testing.T) {
	km := keys.Default()
	m := New([]string{"pools"}, []string{"qemu:///system", "qemu+ssh://hv1/system"}, km, themes.Styles{})
	for _, r := range "diagnose qemu+" {
		m, _ = m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	if got := m.Completions(); len(got) != 1 || got[0] != "diagnose qemu+ssh://hv1/system" {
		t.Fatalf("completions %q", got)
	}
	_, cmd := m.Update(keytest.Press(km.PaletteLine.Run))
	if run, ok := cmd().(RunMsg); !ok || run.Cmd != "diagnose" || run.Arg != "qemu+ssh://hv1/system" {
		t.Fatalf("enter gave %#v", cmd())
	}
}
