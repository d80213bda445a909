package iscsiwizard

import (
	"context"
	"errors"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"stowage/iscsi"
	"stowage/model"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/keys/keytest"
)

// discoverOnly is a host that answers discovery; the wizard's other calls
// are not reached in these tests (a nil embedded interface would panic).
type discoverOnly struct {
	iscsi.Host
	targets []model.ISCSITarget
	asked   []string
}

func (d *discoverOnly) FindISCSITargets(_ context.Context, host string, port int, _ string) ([]model.ISCSITarget, error) {
	d.asked = append(d.asked, (iscsi.Portal{Host: host, Port: port}).String())
	return d.targets, nil
}

func newWizard(t *testing.T, h iscsi.Host) *Model {
	t.Helper()
	pal, _ := themes.Lookup("dark")
	m := New(Deps{HostURI: "qemu+ssh://root@hv/system", Styles: themes.Build(pal, true), Keys: DefaultKeyMap(),
		Connect: func(context.Context) (iscsi.Host, error) {
			if h == nil {
				return nil, errors.New("no host in this test")
			}
			return h, nil
		}})
	m.SetSize(120, 40)
	return m
}

// press sends the first key of a binding.
func press(t *testing.T, m *Model, b key.Binding) tea.Cmd {
	t.Helper()
	_, cmd := m.Update(keytest.Press(b))
	return cmd
}

func typeText(m *Model, s string) {
	for _, r := range s {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func TestPortalStageValidatesThenDiscovers(t *testing.T) {
	h := &discoverOnly{targets: []model.ISCSITarget{{IQN: "iqn.2026-11.lab.stowage:san1", Portal: "10.0.2.2:3260"},
		{IQN: "iqn.2026-11.lab.stowage:san2", Portal: "10.0.2.2:3260"}}}
	m := newWizard(t, h)
	k := m.d.Keys
	typeText(m, "[fd00::1")
	if cmd := press(t, m, k.Next); cmd != nil || !strings.Contains(m.err, "missing ']'") {
		t.Fatalf("bad portal: cmd %v, err %q", cmd != nil, m.err)
	}
	m.portal.SetValue("10.0.2.2")
	cmd := press(t, m, k.Next)
	if cmd == nil || m.busy == "" || m.d.Keys.Next.Enabled() {
		t.Fatalf("discovery should start, mark busy and disable next (busy %q)", m.busy)
	}
	msg := cmd()
	if len(h.asked) != 1 || h.asked[0] != "10.0.2.2:3260" {
		t.Fatalf("discovery asked %v", h.asked)
	}
	// A result of an older request is dropped.
	m.Update(discoveredMsg{Route: common.Route{Owner: m.req.Latest().Owner, Req: m.req.Latest().Req - 1}, targets: nil, err: errors.New("stale")})
	if m.err != "" || m.stage != stagePortal {
		t.Fatalf("stale result applied: err %q stage %d", m.err, m.stage)
	}
	m.Update(msg)
	if m.stage != stageTargets || len(m.targets) != 2 || m.busy != "" {
		t.Fatalf("after discovery: stage %d targets %v busy %q", m.stage, m.targets, m.busy)
	}
	if !strings.Contains(m.View(), "iqn.2026-11.lab.stowage:san2") {
		t.Error("targets not shown")
	}
}

func TestCHAPNeedsUserAndSecretTogether(t *testing.T) {
	m := newWizard(t, nil)
	m.portal.SetValue("10.0.2.2")
	m.chapUser.SetValue("u")
	// Enter moves to the empty secret first, then refuses to go on.
	if cmd := press(t, m, m.d.Keys.Next); cmd != nil || m.field != 2 {
		t.Fatalf("CHAP user without secret: cmd %v field %d; want the secret field", cmd != nil, m.field)
	}
	if cmd := press(t, m, m.d.Keys.Next); cmd != nil || !strings.Contains(m.err, "CHAP") {
		t.Fatalf("CHAP user without secret: cmd %v err %q", cmd != nil, m.err)
	}
	typeText(m, "topsecret-value")
	if m.chapSecret.Len() != len("topsecret-value") || strings.Contains(m.View(), "topsecret-value") {
		t.Fatal("the CHAP secret is shown on screen")
	}
}

func lunsStage(t *testing.T) *Model {
	t.Helper()
	m := newWizard(t, nil)
	m.stage, m.portalVal = stageTargets, iscsi.Portal{Host: "10.0.2.2", Port: 3260}
	m.targets = []model.ISCSITarget{{IQN: "iqn.2026-11.lab.stowage:san2", Portal: "10.0.2.2:3260"}}
	if cmd := press(t, m, m.d.Keys.Next); cmd == nil || m.busy == "" {
		t.Fatal("picking a target should start the login phase")
	}
	m.Update(phaseDoneMsg{Route: m.req.Latest(), phase: stageLUNs, luns: []model.LUN{
		{Number: 1, Path: "/dev/disk/by-path/x-lun-1", Capacity: 128 << 20},
		{Number: 2, Path: "/dev/disk/by-path/x-lun-2", Capacity: 128 << 20, VG: "oldvg"},
	}})
	if m.stage != stageLUNs || m.busy != "" {
		t.Fatalf("stage %d busy %q", m.stage, m.busy)
	}
	return m
}

// toNames presses Next on the LUN stage (which starts the probe) and
// delivers the probe's findings for the picked LUNs.
func toNames(t *testing.T, m *Model, f iscsi.Findings) {
	t.Helper()
	if cmd := press(t, m, m.d.Keys.Next); cmd == nil || m.busy == "" {
		t.Fatalf("enter on the LUNs should start the probe: err %q", m.err)
	}
	m.Update(phaseDoneMsg{Route: m.req.Latest(), phase: stageNames, findings: &f, probed: m.pickedLUNs()})
	if m.stage != stageNames {
		t.Fatalf("stage %d after the probe, want names", m.stage)
	}
}

func nothingFound(luns ...int) iscsi.Findings {
	f := iscsi.Findings{Target: "iqn.2026-11.lab.stowage:san2"}
	for _, n := range luns {
		f.LUNs = append(f.LUNs, iscsi.LUNFindings{Number: n, Read: iscsi.ProbeBytes})
	}
	return f
}

func ext4On2() iscsi.Findings {
	f := nothingFound(2)
	f.LUNs[0].Signatures = []iscsi.Signature{{Kind: "ext4 file system", Detail: "label backups"}}
	return f
}

func TestLUNsPickedWithToggle(t *testing.T) {
	m := lunsStage(t)
	k := m.d.Keys
	if press(t, m, k.Next); m.stage != stageLUNs || !strings.Contains(m.err, "pick at least one") {
		t.Fatalf("went on with no LUN picked: stage %d", m.stage)
	}
	press(t, m, k.Toggle)
	press(t, m, k.Down)
	press(t, m, k.Toggle)
	if got := m.pickedLUNs(); len(got) != 2 {
		t.Fatalf("picked %v", got)
	}
	press(t, m, k.Toggle) // unpick LUN 2
	if got := m.pickedLUNs(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("picked %v after unpicking", got)
	}
	toNames(t, m, nothingFound(1))
	if !strings.Contains(m.View(), "LUN 1: no signature found in the first 128 KiB") {
		t.Errorf("the names stage should say what the probe read:\n%s", m.View())
	}
	if m.needsConfirm() != "" || len(m.inputs()) != 2 {
		t.Error("nothing found: no confirmation field")
	}
}

func TestOverwriteNeedsTheTokenOfWhatWasFound(t *testing.T) {
	m := lunsStage(t)
	k := m.d.Keys
	press(t, m, k.Down)
	press(t, m, k.Toggle) // LUN 2
	f := ext4On2()
	toNames(t, m, f)
	m.vg.SetValue("vg_new")
	m.pool.SetValue("new")
	v := m.View()
	if !strings.Contains(v, "DANGER") || !strings.Contains(v, "LUN 2: ext4 file system (label backups)") || !strings.Contains(v, f.Token()) {
		t.Errorf("no danger mark, findings or token:\n%s", v)
	}
	for _, wrong := range []string{"", "vg_new", "wipe-00000000"} {
		m.confirm.SetValue(wrong)
		if cmd := press(t, m, k.Next); cmd != nil || !strings.Contains(m.err, f.Token()) {
			t.Fatalf("built with confirmation %q: err %q", wrong, m.err)
		}
	}
	m.confirm.SetValue(f.Token())
	if cmd := press(t, m, k.Next); cmd == nil || m.busy == "" {
		t.Fatalf("confirmed build did not start: err %q", m.err)
	}
}

// The typed token belongs to one LUN selection: going back to the LUNs or
// picking another one clears it, and the next build needs a new probe.
func TestTokenClearedWhenTheLUNPickChanges(t *testing.T) {
	m := lunsStage(t)
	k := m.d.Keys
	press(t, m, k.Down)
	press(t, m, k.Toggle) // LUN 2
	f := ext4On2()
	toNames(t, m, f)
	m.confirm.SetValue(f.Token())

	press(t, m, k.Back)
	if m.stage != stageLUNs || m.confirm.Value() != "" || m.findings != nil {
		t.Fatalf("back to the LUNs kept the token %q (findings %v)", m.confirm.Value(), m.findings)
	}
	press(t, m, k.Up)
	press(t, m, k.Toggle) // LUN 1 too: another selection
	if m.confirm.Value() != "" || m.findings != nil {
		t.Fatal("a changed pick kept the token")
	}
	// The probe of LUNs 1,2 finds the same ext4: a new token, typed anew.
	g := ext4On2()
	g.LUNs = append([]iscsi.LUNFindings{{Number: 1, Read: iscsi.ProbeBytes}}, g.LUNs...)
	toNames(t, m, g)
	if m.confirm.Value() != "" || m.needsConfirm() == f.Token() {
		t.Fatalf("token carried over to LUNs 1,2: confirm %q, needed %q", m.confirm.Value(), m.needsConfirm())
	}
	m.vg.SetValue("vg_new")
	m.pool.SetValue("new")
	m.confirm.SetValue(f.Token())
	if cmd := press(t, m, k.Next); cmd != nil {
		t.Fatal("the token of LUN 2 alone confirmed LUNs 1,2")
	}

	// A probe answer for an older pick is dropped.
	press(t, m, k.Back)
	press(t, m, k.Toggle) // unpick LUN 1
	press(t, m, k.Next)
	m.Update(phaseDoneMsg{Route: m.req.Latest(), phase: stageNames, findings: &g, probed: []int{1, 2}})
	if m.findings != nil {
		t.Fatal("findings of another pick were applied")
	}
}

func TestBuildFailureKeepsPhase1AndNeedsANewProbe(t *testing.T) {
	m := lunsStage(t)
	press(t, m, m.d.Keys.Toggle)
	toNames(t, m, nothingFound(1))
	m.vg.SetValue("vg_new")
	m.pool.SetValue("new")
	if cmd := press(t, m, m.d.Keys.Next); cmd == nil {
		t.Fatalf("build did not start: %q", m.err)
	}
	if _, cmd := m.Update(stepMsg{Route: m.req.Latest(), step: iscsi.Step{Title: "build VG", Status: iscsi.StepFailed}}); cmd == nil {
		t.Fatal("a step message must re-arm the listener")
	}
	_, cmd := m.Update(phaseDoneMsg{Route: m.req.Latest(), phase: stageDone, err: errors.New("pvcreate failed (rolled back: nothing left)")})
	if cmd != nil || m.busy != "" {
		t.Fatalf("a failed build must not start another rollback (the runner did it): busy %q", m.busy)
	}
	if m.stage != stageLUNs || m.findings != nil || !strings.Contains(m.err, "pvcreate failed") {
		t.Fatalf("after the failure: stage %d findings %v err %q", m.stage, m.findings, m.err)
	}
}

func TestKeysFollowTheStage(t *testing.T) {
	m := newWizard(t, nil)
	has := func(b key.Binding) bool {
		for _, h := range m.ShortHelp() {
			if h.Help().Key == b.Help().Key {
				return true
			}
		}
		return false
	}
	if has(m.d.Keys.Toggle) || has(m.d.Keys.CreateDrive) || !has(m.d.Keys.Next) {
		t.Errorf("portal stage help: %v", m.ShortHelp())
	}
	m.stage = stageDone
	m.updateKeys()
	if has(m.d.Keys.CreateDrive) {
		t.Error("create-drive offered without a drive wizard")
	}
	m.d.CreateDrive = func(common.DriveTarget) common.Component { return newWizard(t, nil) }
	m.pool.SetValue("new")
	m.updateKeys()
	if !has(m.d.Keys.CreateDrive) {
		t.Fatal("create-drive not offered when done")
	}
	cmd := press(t, m, m.d.Keys.CreateDrive)
	if push, ok := cmd().(common.PushMsg); !ok || push.Screen == nil {
		t.Fatalf("c should push the drive wizard, got %T", cmd())
	}
	if pop, ok := press(t, m, m.d.Keys.Back)().(common.PopMsg); !ok || pop.Result != (PoolReadyMsg{HostURI: m.d.HostURI, Pool: "new"}) {
		t.Fatalf("esc when done should pop with the new pool, got %+v", pop)
	}
}

func TestFormsCaptureKeys(t *testing.T) {
	m := newWizard(t, nil)
	if !m.Capturing() {
		t.Error("the portal form must capture keys (':' in host:port)")
	}
	m.stage = stageTargets
	if m.Capturing() {
		t.Error("the target list should leave global keys to the root")
	}
}

// Enter in the VG-name field moves to the pool-name field: the pool name
// typed next must not be appended to the VG name. Enter there then builds.
func TestEnterInVGNameMovesToPoolName(t *testing.T) {
	m := lunsStage(t)
	k := m.d.Keys
	press(t, m, k.Toggle)
	toNames(t, m, nothingFound(1))
	typeText(m, "vg_data")
	if cmd := press(t, m, k.Next); cmd != nil || m.err != "" || m.field != 1 {
		t.Fatalf("enter in the VG field: cmd %v, err %q, field %d; want the pool field", cmd != nil, m.err, m.field)
	}
	typeText(m, "san")
	if m.vg.Value() != "vg_data" || m.pool.Value() != "san" {
		t.Fatalf("VG %q, pool %q; want vg_data and san", m.vg.Value(), m.pool.Value())
	}
	if cmd := press(t, m, k.Next); cmd == nil || m.busy == "" {
		t.Fatalf("enter in the pool field did not build: err %q", m.err)
	}
}

// An invalid VG name keeps the cursor in the VG field with the reason.
func TestEnterInVGNameValidatesIt(t *testing.T) {
	m := lunsStage(t)
	press(t, m, m.d.Keys.Toggle)
	toNames(t, m, nothingFound(1))
	typeText(m, "-bad")
	if cmd := press(t, m, m.d.Keys.Next); cmd != nil || m.err == "" || m.field != 0 {
		t.Fatalf("invalid VG name: cmd %v, err %q, field %d; want an error in the VG field", cmd != nil, m.err, m.field)
	}
}

// Enter in the CHAP-user field moves to the secret: the secret typed next
// must land in the masked field, not on screen in the user field.
func TestEnterInCHAPUserMovesToSecret(t *testing.T) {
	m := newWizard(t, nil)
	k := m.d.Keys
	typeText(m, "10.0.2.2")
	press(t, m, k.Field)
	typeText(m, "chapuser")
	if cmd := press(t, m, k.Next); cmd != nil || m.err != "" || m.field != 2 {
		t.Fatalf("enter in the CHAP user field: cmd %v, err %q, field %d; want the secret field", cmd != nil, m.err, m.field)
	}
	typeText(m, "s3cret-typed")
	if m.chapUser.Value() != "chapuser" || m.chapSecret.Len() != len("s3cret-typed") {
		t.Fatalf("CHAP user %q, secret of %d bytes", m.chapUser.Value(), m.chapSecret.Len())
	}
	if v := m.View(); strings.Contains(v, "s3cret-typed") || !strings.Contains(v, "CHAP secret: "+strings.Repeat("*", len("s3cret-typed"))) {
		t.Fatalf("the CHAP secret is on screen, or not masked:\n%s", v)
	}
	if cmd := press(t, m, k.Next); cmd == nil || m.busy == "" {
		t.Fatalf("enter in the secret field did not discover: err %q", m.err)
	}
}
