package keys

import (
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

func TestRemap(t *testing.T) {
	km := Default()
	if err := km.Remap(map[string][]string{"describe": {"i", "enter"}}); err != nil {
		t.Fatal(err)
	}
	if !key.Matches(tea.KeyPressMsg{Code: 'i', Text: "i"}, km.Describe) || key.Matches(tea.KeyPressMsg{Code: 'd', Text: "d"}, km.Describe) {
		t.Errorf("describe keys = %v", km.Describe.Keys())
	}
	if km.Describe.Help().Key != "i" {
		t.Errorf("help shows %q", km.Describe.Help().Key)
	}
	if err := km.Remap(map[string][]string{"explode": {"x"}}); err == nil || !strings.Contains(err.Error(), "describe") {
		t.Errorf("unknown action: %v", err)
	}
	if err := km.Remap(map[string][]string{"quit": {}}); err == nil {
		t.Error("empty key list accepted")
	}
}
