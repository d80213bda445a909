package iscsiwizard

import (
	"strings"
	"testing"

	"stowage/iscsi"
	"stowage/ui/common"
	"stowage/ui/keys"
)

// The wizard's keys and the hints on its stages are the keymap's: a
// remapped pick key is the one named on the LUN stage, in its refusal,
// and the one that picks.
func TestRemappedKeysAreHintedAndDispatched(t *testing.T) {
	km := keys.Default()
	if err := km.Remap(map[string][]string{"iscsi.pick_lun": {"p"}, "iscsi.xml": {"ctrl+o"}}); err != nil {
		t.Fatal(err)
	}
	m := lunsStage(t)
	m.d.Keys = km.ISCSI
	m.recordStep(iscsi.Step{Title: "define iscsi pool", Status: iscsi.StepDone})
	m.updateKeys()
	if v := m.View(); !strings.Contains(v, "LUNs of the target: p picks") || !strings.Contains(v, "Steps (ctrl+o: XML and virsh)") {
		t.Fatalf("the LUN stage does not name the remapped keys:\n%s", v)
	}
	press(t, m, m.d.Keys.Next)
	if !strings.Contains(m.err, "pick at least one LUN (p)") {
		t.Errorf("refusal %q does not name the remapped key", m.err)
	}
	press(t, m, keys.Default().ISCSI.Toggle)
	if len(m.pickedLUNs()) != 0 {
		t.Fatal("the default pick key still picks after the remap")
	}
	press(t, m, m.d.Keys.Toggle)
	if len(m.pickedLUNs()) != 1 {
		t.Fatal("the remapped pick key does not pick")
	}
}

// The last stage's offer names the remapped create key.
func TestDoneStageNamesTheCreateKey(t *testing.T) {
	km := keys.Default()
	if err := km.Remap(map[string][]string{"iscsi.create_drive": {"D"}}); err != nil {
		t.Fatal(err)
	}
	m := newWizard(t, nil)
	m.d.Keys = km.ISCSI
	m.d.CreateDrive = func(common.DriveTarget) common.Component { return newWizard(t, nil) }
	m.stage = stageDone
	m.pool.SetValue("new")
	m.updateKeys()
	if v := m.View(); !strings.Contains(v, "Press D to create its first encrypted drive; esc closes.") {
		t.Fatalf("the offer does not name the remapped key:\n%s", v)
	}
	if _, ok := press(t, m, km.ISCSI.CreateDrive)().(common.PushMsg); !ok {
		t.Fatal("the remapped create key does not open the drive wizard")
	}
}
