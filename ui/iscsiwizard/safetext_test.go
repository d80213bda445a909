package iscsiwizard

import (
	"errors"
	"strings"
	"testing"

	"stowage/iscsi"
	"stowage/model"
)

// Target names, LUN paths and what they hold, the probe's findings, steps
// and errors reach the screen escaped: a SAN or a disk label cannot drive
// the admin's terminal through the wizard.
func TestWizardEscapesControlCharacters(t *testing.T) {
	check := func(what, v string, want ...string) {
		t.Helper()
		if strings.ContainsAny(v, "\u009b\x7f") {
			t.Errorf("%s holds a raw control character:\n%q", what, v)
		}
		for _, w := range want {
			if !strings.Contains(v, w) {
				t.Errorf("%s does not show %s:\n%s", what, w, v)
			}
		}
	}
	m := newWizard(t, nil)
	m.Update(discoveredMsg{Route: m.req.Latest(), targets: []model.ISCSITarget{{IQN: "iqn.2026-11.lab:evil\u009b31m", Portal: "10.0.2.2:3260"}}})
	check("the targets", m.View(), `iqn.2026-11.lab:evil\u009b31m`)
	if m.targets[0].IQN != "iqn.2026-11.lab:evil\u009b31m" {
		t.Fatal("the target's name was changed, not only its display")
	}

	m = lunsStage(t)
	m.luns = []model.LUN{{Number: 1, Path: "/dev/disk/by-path/lun-1\x7f", Capacity: 1 << 20, VG: "vg\u009b31m"}}
	m.Update(stepMsg{Route: m.req.Latest(), step: iscsi.Step{Title: "define iscsi pool p\x7f", Status: iscsi.StepKept, Error: "kept: pool p\x7f changed"}})
	m.err = "LUN 1 is disk vdb of VM \"web\u009b31m\""
	check("the LUNs", m.View(), `/dev/disk/by-path/lun-1\x7f`, `VG vg\u009b31m`, `define iscsi pool p\x7f`, `kept: pool p\x7f changed`, `VM "web\u009b31m"`)

	m = lunsStage(t)
	press(t, m, m.d.Keys.Toggle)
	f := nothingFound(1)
	f.LUNs[0].Signatures = []iscsi.Signature{{Kind: "ext4 file system", Detail: "label x\u009b31m"}}
	toNames(t, m, f)
	m.Update(phaseDoneMsg{Route: m.req.Latest(), phase: stageDone, err: errors.New("build VG vg\x7f failed")})
	check("the findings and the error", m.View(), `build VG vg\x7f failed`)
	toNames(t, m, f)
	check("the findings", m.View(), `label x\u009b31m`)
}
