package app

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/keys"
	"stowage/ui/views/list"
)

// confirmScreen stands for a confirmation (driveconfirm's screens).
type confirmScreen struct{ stubScreen }

func (*confirmScreen) Confirms() {}

// A Dangerous key may open only a confirmation: a delete wired straight
// to a screen that acts (a bug) is refused with the action named, and the
// same key wired to a confirmation opens it.
func TestDangerousKeyOpensOnlyAConfirmation(t *testing.T) {
	km := keys.Default()
	if !km.Dangerous(km.DeleteDrive) {
		t.Fatal("delete drive is not dangerous")
	}
	for _, tc := range []struct {
		name    string
		screen  common.Component
		refused bool
	}{
		{"no confirmation", &stubScreen{title: "deletes at once"}, true},
		{"a confirmation", &confirmScreen{stubScreen{title: "delete drive"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{uris: []string{"test:///one"}, parts: [][]model.Part{labHost()}, err: []error{nil}}
			m := newModel(t, f, common.Actions{DeleteDrive: func(common.DriveTarget) common.Component { return tc.screen }})
			press(t, m, km.Enter) // the dir pool's volumes
			if !strings.Contains(m.HelpText(), km.DeleteDrive.Help().Desc) {
				t.Fatalf("delete not offered on a volume:\n%s", m.HelpText())
			}
			press(t, m, km.DeleteDrive)
			_, onList := m.Top().(*list.Model)
			if tc.refused {
				if !onList || !strings.Contains(m.View().Content, "refused: "+km.DeleteDrive.Help().Desc+" opens no confirmation") {
					t.Errorf("a dangerous key opened %T without confirmation:\n%s", m.Top(), m.View().Content)
				}
				return
			}
			if m.Top() != tc.screen {
				t.Errorf("the confirmation was not opened: top %T", m.Top())
			}
		})
	}
}

// The help and the footer render the danger mark from the flag, and a
// remap shows in the footer's hint.
func TestHelpMarksDangerAndFollowsRemap(t *testing.T) {
	f := &fake{uris: []string{"test:///one"}, parts: [][]model.Part{labHost()}, err: []error{nil}}
	acts := common.Actions{DeleteDrive: func(common.DriveTarget) common.Component { return &confirmScreen{} }}
	m := newModel(t, f, acts)
	km := keys.Default()
	press(t, m, km.Enter)
	help := m.HelpText()
	for _, a := range km.Actions() {
		if a.Binding.Help().Desc == "" || !strings.Contains(help, a.Binding.Help().Desc) {
			continue
		}
		if a.Dangerous != strings.HasSuffix(a.Binding.Help().Desc, " "+keys.DangerMark) {
			t.Errorf("%s: dangerous %v, shown as %q", a.Name, a.Dangerous, a.Binding.Help().Desc)
		}
	}
	if !strings.Contains(help, "delete drive "+keys.DangerMark) {
		t.Errorf("help lacks the marked delete:\n%s", help)
	}

	remapped := keys.Default()
	if err := remapped.Remap(map[string][]string{"describe": {"i"}}); err != nil {
		t.Fatal(err)
	}
	m2 := newModelWithKeys(t, f, acts, remapped)
	press(t, m2, remapped.Enter)
	if v := ansi.Strip(m2.View().Content); !strings.Contains(v, "i describe") || strings.Contains(v, "d describe") {
		t.Errorf("the footer does not follow the remap:\n%s", v)
	}
}

// newModelWithKeys is newModel with a keymap of the test's own.
func newModelWithKeys(t *testing.T, f *fake, acts common.Actions, km keys.Map) *Model {
	t.Helper()
	return newModelFrom(t, f, Deps{Keys: km, Actions: acts})
}
