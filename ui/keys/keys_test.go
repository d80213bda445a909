package keys

import (
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

func TestRemap(t *testing.T) {
	km := Default()
	if err := km.Remap(map[string][]string{"describe": {"i", "I"}}); err != nil {
		t.Fatal(err)
	}
	if !key.Matches(tea.KeyPressMsg{Code: 'i', Text: "i"}, km.Describe) || key.Matches(tea.KeyPressMsg{Code: 'd', Text: "d"}, km.Describe) {
		t.Errorf("describe keys = %v", km.Describe.Keys())
	}
	if km.Describe.Help().Key != "i" {
		t.Errorf("help shows %q", km.Describe.Help().Key)
	}
	if err := km.Remap(map[string][]string{"explode": {"x"}}); err == nil || !strings.Contains(err.Error(), "describe") || !strings.Contains(err.Error(), "confirm.cancel") {
		t.Errorf("unknown action: %v; want the valid actions named, screens' too", err)
	}
	if err := km.Remap(map[string][]string{"quit": {}}); err == nil {
		t.Error("empty key list accepted")
	}
}

// The default keymap is held to the rule Remap enforces.
func TestDefaultsShareNoLiveKey(t *testing.T) {
	km := Default()
	if err := km.conflict(nil); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, a := range km.Actions() {
		if names[a.Name] {
			t.Errorf("action %q twice", a.Name)
		}
		names[a.Name] = true
		if len(a.Binding.Keys()) == 0 || a.Binding.Help().Key == "" || a.Binding.Help().Desc == "" {
			t.Errorf("action %q: keys %v, help %+v", a.Name, a.Binding.Keys(), a.Binding.Help())
		}
	}
}

func TestRemapRefusesAKeyTwoLiveActionsShare(t *testing.T) {
	km := Default()
	before := km.Refresh.Keys()
	err := km.Remap(map[string][]string{"describe": {km.Refresh.Keys()[0]}})
	want := `keys: "` + before[0] + `" for describe is already refresh's key; pick another key or remap refresh too`
	if err == nil || err.Error() != want {
		t.Fatalf("describe on refresh's key: %v\nwant %s", err, want)
	}
	if km.Describe.Keys()[0] != Default().Describe.Keys()[0] {
		t.Errorf("a refused remap changed describe to %v", km.Describe.Keys())
	}
	// Both remapped onto one key: both named.
	err = km.Remap(map[string][]string{"create_drive": {"w"}, "attach_drive": {"w"}})
	if err == nil || !strings.Contains(err.Error(), `"w"`) || !strings.Contains(err.Error(), "attach_drive") || !strings.Contains(err.Error(), "create_drive") {
		t.Errorf("two actions on w: %v", err)
	}
	// Within one screen.
	err = km.Remap(map[string][]string{"confirm.mode": km.Confirm.Confirm.Keys()})
	if err == nil || !strings.Contains(err.Error(), "confirm.confirm") {
		t.Errorf("confirm.mode on confirm's key: %v", err)
	}
	// A screen that does not capture keys shares the screen with the
	// root's global keys.
	err = km.Remap(map[string][]string{"iscsi.pick_lun": km.Quit.Keys()[:1]})
	if err == nil || !strings.Contains(err.Error(), "quit") {
		t.Errorf("iscsi.pick_lun on quit's key: %v", err)
	}
	// Moving refresh out of the way first makes room.
	if err := km.Remap(map[string][]string{"describe": {"r"}, "refresh": {"R", "ctrl+r"}}); err != nil {
		t.Errorf("describe on r with refresh moved: %v", err)
	}
	// Keys repeat across screens, and a form that takes every key may use
	// a global key.
	if err := km.Remap(map[string][]string{"confirm.cancel": km.ISCSI.XML.Keys(), "first_pool.submit": km.Quit.Keys()[:1]}); err != nil {
		t.Errorf("keys of other screens refused: %v", err)
	}
}

func TestDangerMarkComesFromTheFlag(t *testing.T) {
	km := Default()
	n := 0
	for _, a := range km.Actions() {
		marked := strings.Contains(a.Binding.Help().Desc, DangerMark)
		if marked != a.Dangerous {
			t.Errorf("%s: dangerous %v, help %q", a.Name, a.Dangerous, a.Binding.Help().Desc)
		}
		if a.Dangerous {
			n++
			if !km.Dangerous(*a.Binding) || !km.Dangerous(Enable(*a.Binding, false)) {
				t.Errorf("%s not recognised as dangerous", a.Name)
			}
		} else if km.Dangerous(*a.Binding) {
			t.Errorf("%s recognised as dangerous", a.Name)
		}
	}
	if n == 0 || !km.Dangerous(km.DeleteDrive) || !km.Dangerous(km.DetachDrive) {
		t.Fatal("delete and detach are not dangerous")
	}
	// A remap keeps the mark and the flag.
	if err := km.Remap(map[string][]string{"delete_drive": {"X"}}); err != nil {
		t.Fatal(err)
	}
	if !km.Dangerous(km.DeleteDrive) || !strings.HasSuffix(km.DeleteDrive.Help().Desc, DangerMark) {
		t.Errorf("remapped delete: help %+v", km.DeleteDrive.Help())
	}
}

func TestHintFollowsRemap(t *testing.T) {
	km := Default()
	before := Hint(km.Confirm.Confirm, km.Confirm.Cancel)
	if err := km.Remap(map[string][]string{"confirm.confirm": {"ctrl+y"}}); err != nil {
		t.Fatal(err)
	}
	after := Hint(km.Confirm.Confirm, km.Confirm.Cancel)
	if before == after || !strings.HasPrefix(after, "ctrl+y: confirm · ") {
		t.Errorf("hint %q after remap (was %q)", after, before)
	}
	if Hint(Enable(km.Confirm.Confirm, false)) != "" {
		t.Error("a disabled binding is hinted")
	}
}
