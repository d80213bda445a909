package palette

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"stowage/themes"
)

// Host names completed after `host`, and what was typed, are shown
// escaped; the command returned keeps the name as it is.
func TestPaletteEscapesControlCharacters(t *testing.T) {
	const hv = "qemu+ssh://hv\u009b31m/system"
	m := New([]string{"pools"}, []string{hv}, themes.Styles{})
	for _, r := range "host q\x7f" {
		m, _ = m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	v := m.View()
	if strings.ContainsAny(v, "\u009b\x7f") || !strings.Contains(v, `:host q\x7f`) {
		t.Fatalf("typed text not escaped: %q", v)
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: tea.KeyBackspace})
	m, _ = m.Update(tea.KeyPressMsg{Code: tea.KeyBackspace})
	v = m.View()
	if strings.ContainsAny(v, "\u009b\x7f") || !strings.Contains(v, `host qemu+ssh://hv\u009b31m/system`) {
		t.Fatalf("completion not escaped: %q", v)
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: 'q', Text: "q"})
	_, cmd := m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	if run, ok := cmd().(RunMsg); !ok || run.Cmd != "host" || run.Arg != hv {
		t.Fatalf("enter gave %#v; want the host's name unchanged", cmd())
	}
}
