package app

import (
	"slices"
	"strings"
	"testing"

	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/diagnose"
	"stowage/ui/keys"
	"stowage/ui/keys/keytest"
)

const lostSecret = "6f1c1a52-0000-4000-8000-00000000dead"

// sickHost has a pool stopped under a VM whose disk names it (critical),
// a pool that is not autostarted under the same VM (warning), and an
// encrypted disk whose secret is gone (critical). The VM's name carries an
// escape sequence, as libvirt allows.
func sickHost() []model.Part {
	return []model.Part{
		{Kind: model.PartVersions, Lib: "9.0.0", HV: "7.2.0"},
		{Kind: model.PartPools, Pools: []model.Pool{
			{Name: "stopped", UUID: "u-stopped", Type: model.PoolDir, Persistent: true, Autostart: true, TargetPath: "/s"},
			{Name: "manual", UUID: "u-manual", Type: model.PoolDir, Active: true, Persistent: true, TargetPath: "/m",
				Capacity: 100 << 30, Available: 90 << 30},
		}},
		{Kind: model.PartVolumes, Pool: "manual", Volumes: []model.Volume{
			{Name: "b.raw", Pool: "manual", Path: "/m/b.raw", Capacity: 1 << 30},
			{Name: "c.raw", Pool: "manual", Path: "/m/c.raw", Capacity: 1 << 30},
		}},
		{Kind: model.PartDomains, Domains: []model.Domain{{Name: "vm\x1b[31m", State: "shut off", Disks: []model.Disk{
			{Target: "vda", Device: "disk", SourceType: "volume", Pool: "stopped", Volume: "a.raw"},
			{Target: "vdb", Device: "disk", SourceType: "file", Source: "/m/b.raw"},
			{Target: "vdc", Device: "disk", SourceType: "file", Source: "/m/c.raw",
				Encryption: &model.Encryption{Format: "luks", SecretUUID: lostSecret}},
		}}}},
		{Kind: model.PartSecrets, Secrets: []model.SecretInfo{}},
	}
}

// startPool is the fake's fix: the stopped pool is active on the next read.
func startPool(f *fake, i int, a model.FixAction) error {
	parts := slices.Clone(f.parts[i])
	for k, p := range parts {
		if p.Kind == model.PartPools {
			pools := slices.Clone(p.Pools)
			for j := range pools {
				if pools[j].Name == a.Target {
					pools[j].Active = true
				}
			}
			parts[k].Pools = pools
		}
	}
	f.parts[i] = parts
	return nil
}

// selectRow moves the top list's cursor to the row whose key ends in id.
func selectRow(t *testing.T, m *Model, id string) {
	t.Helper()
	l := topList(t, m)
	for _, r := range l.Table().Rows() {
		if strings.HasSuffix(r.Key, "\x00"+id) {
			l.Table().Select(r.Key)
			return
		}
	}
	t.Fatalf("no row %q in %s", id, l.Kind())
}

func topDiagnose(t *testing.T, m *Model) *diagnose.Model {
	t.Helper()
	return topAs[*diagnose.Model](t, m)
}

// The hosts screen counts the open findings (warning and above, and the
// critical ones) from the inventory the console already read: sickHost's
// three, and labHost's pool that reports no space left (critical).
func TestHostsBannerCountsOpenFindings(t *testing.T) {
	f := &fake{uris: []string{"test:///sick", "test:///full"}, parts: [][]model.Part{sickHost(), labHost()}, err: []error{nil, nil}}
	m := newModel(t, f, common.Actions{})
	if l := topList(t, m); l.Kind() != "hosts" {
		t.Fatalf("start on %s", l.Kind())
	}
	view := m.View().Content
	if !strings.Contains(view, "doctor: 4 open findings (3 critical)") {
		t.Fatalf("banner missing or wrong:\n%s", view)
	}
	if streams := f.streams.Load(); streams != 2 {
		t.Fatalf("%d refreshes: the banner must come from the reads the console made (2)", streams)
	}
	// Drawing does not diagnose: the findings are the store's, from the
	// last completed read.
	before := &m.d.Store.Hosts[0].Findings[0]
	m.View()
	if &m.d.Store.Hosts[0].Findings[0] != before {
		t.Error("a frame re-ran the checks")
	}
}

// The diagnose key on a pool re-reads its host, then lists that pool's
// findings with their evidence and fix, escaped; on a VM, the VM's, most
// severe first; on a host, all of them.
func TestDiagnoseListsTheObjectsFindings(t *testing.T) {
	f := &fake{uris: []string{"test:///sick"}, parts: [][]model.Part{sickHost()}, err: []error{nil}}
	m := newModel(t, f, common.Actions{})
	km := keys.Default()
	if !strings.Contains(m.HelpText(), km.Diagnose.Help().Desc) {
		t.Errorf("the diagnose key is not in the help:\n%s", m.HelpText())
	}
	selectRow(t, m, "stopped")
	reads := f.streams.Load()
	press(t, m, km.Diagnose)
	d := topDiagnose(t, m)
	if f.streams.Load() != reads+1 || !d.Fresh() {
		t.Fatalf("diagnose did not re-read the host first (%d reads, fresh %v)", f.streams.Load()-reads, d.Fresh())
	}
	if fs := d.Findings(); len(fs) != 1 || fs[0].Check != "pool.inactive-in-use" || fs[0].Severity != model.SeverityCritical {
		t.Fatalf("findings on pool stopped: %+v", fs)
	}
	view := m.View().Content
	for _, want := range []string{"CRITICAL", "pool stopped on test:///sick", "inactive while VM", "evidence: virStoragePoolGetInfo(stopped): inactive",
		"fix: stowage doctor --uri test:///sick --fix start-pool:stopped", `vm\x1b[31m`, km.Fix.Help().Desc} {
		if !strings.Contains(view, want) {
			t.Errorf("findings screen lacks %q:\n%s", want, view)
		}
	}
	if strings.Contains(view, "vm\x1b[31m") {
		t.Error("the VM's name reached the terminal unescaped")
	}
	press(t, m, km.Back)
	press(t, m, km.VMs)
	press(t, m, km.Diagnose)
	fs := topDiagnose(t, m).Findings()
	if len(fs) != 3 || fs[0].Severity != model.SeverityCritical || fs[2].Severity != model.SeverityWarning {
		t.Fatalf("the VM's findings, most severe first: %+v", fs)
	}
	press(t, m, km.Back)
	press(t, m, km.Hosts)
	press(t, m, km.Diagnose)
	if fs := topDiagnose(t, m).Findings(); len(fs) != 3 {
		t.Fatalf("the host's findings: %+v", fs)
	}
	// From the palette, on the selected row too.
	press(t, m, km.Back)
	press(t, m, km.Palette)
	typeText(t, m, "diagnose")
	_, cmd := m.Update(keytest.Press(km.PaletteLine.Run))
	drain(t, m, cmd)
	if d := topDiagnose(t, m); len(d.Findings()) != 3 || !strings.Contains(d.Title(), "host test:///sick") {
		t.Fatalf(":diagnose on the hosts screen opened %q with %d findings", d.Title(), len(d.Findings()))
	}
}

// The findings screen waits for a read it asked for: the end of a read
// that started before it (now stale) is dropped, so it lists nothing
// until its own read is in.
func TestDiagnoseDropsAStaleRead(t *testing.T) {
	f := &fake{uris: []string{"test:///sick"}, parts: [][]model.Part{sickHost()}, err: []error{nil}}
	m := newModel(t, f, common.Actions{})
	km := keys.Default()
	selectRow(t, m, "stopped")
	_, older := m.Update(keytest.Press(km.Refresh)) // a read in flight
	_, push := m.Update(keytest.Press(km.Diagnose))
	_, own := m.Update(push())
	d := topDiagnose(t, m)
	drain(t, m, older)
	if d.Fresh() || len(d.Findings()) != 0 || !strings.Contains(m.View().Content, "reading the host again") {
		t.Fatalf("a read started before the screen asked counted as fresh: %+v", d.Findings())
	}
	drain(t, m, own)
	if !d.Fresh() || len(d.Findings()) != 1 {
		t.Fatalf("the screen's own read: fresh %v, %d findings", d.Fresh(), len(d.Findings()))
	}
}

// A fix needs its target typed; then the backend applies it, the host is
// read again and the finding is gone.
func TestFixNeedsTheTypedTarget(t *testing.T) {
	f := &fake{uris: []string{"test:///sick"}, parts: [][]model.Part{sickHost()}, err: []error{nil}, fixed: startPool}
	m := newModel(t, f, common.Actions{})
	km := keys.Default()
	selectRow(t, m, "stopped")
	press(t, m, km.Diagnose)
	press(t, m, km.Fix)
	if _, ok := m.Top().(keys.Confirmer); !ok {
		t.Fatalf("the fix key opened %T, not a confirmation", m.Top())
	}
	typeText(t, m, "stoppe")
	press(t, m, km.Confirm.Confirm)
	if len(f.fixes) != 0 || !strings.Contains(m.View().Content, `type "stopped" exactly`) {
		t.Fatalf("a wrong target: %d fixes applied; screen:\n%s", len(f.fixes), m.View().Content)
	}
	typeText(t, m, "d")
	reads := f.streams.Load()
	press(t, m, km.Confirm.Confirm)
	if len(f.fixes) != 1 || f.fixes[0].action.Kind != model.FixStartPool || f.fixes[0].action.Target != "stopped" || f.fixes[0].host != 0 {
		t.Fatalf("fixes applied: %+v", f.fixes)
	}
	d := topDiagnose(t, m)
	if f.streams.Load() <= reads || !d.Fresh() || len(d.Findings()) != 0 {
		t.Fatalf("after the fix: %d reads, fresh %v, findings %+v", f.streams.Load()-reads, d.Fresh(), d.Findings())
	}
	if v := m.View().Content; !strings.Contains(v, "fixed: start-pool stopped") || !strings.Contains(v, "No findings") {
		t.Errorf("the screen after the fix:\n%s", v)
	}
}

// set-secret takes the value in a masked field: it is never drawn, and
// the bytes handed to the backend are cleared once it returned.
func TestSetSecretValueIsMaskedAndCleared(t *testing.T) {
	f := &fake{uris: []string{"test:///sick"}, parts: [][]model.Part{sickHost()}, err: []error{nil},
		fixed: func(*fake, int, model.FixAction) error { return nil }}
	m := newModel(t, f, common.Actions{})
	km := keys.Default()
	press(t, m, km.VMs)
	press(t, m, km.Diagnose)
	// Most severe first, then by object: "disk vdc …" before "pool …".
	if fs := topDiagnose(t, m).Findings(); fs[0].Check != "disk.secret-missing" {
		t.Fatalf("first finding %+v", fs[0])
	}
	var views []string
	press(t, m, km.Fix)
	typeText(t, m, lostSecret)
	press(t, m, km.Confirm.Mode)
	const value = "correct horse battery"
	typeText(t, m, value)
	views = append(views, m.View().Content)
	press(t, m, km.Confirm.Confirm)
	views = append(views, m.View().Content)
	if len(f.fixes) != 1 || f.fixes[0].action.Kind != model.FixSetSecret || f.fixes[0].typed != value {
		t.Fatalf("fixes applied: %+v", f.fixes)
	}
	for i, v := range views {
		if strings.Contains(v, value) {
			t.Errorf("frame %d shows the secret's value", i)
		}
	}
	if strings.Trim(string(f.fixes[0].value), "\x00") != "" {
		t.Error("the value's bytes were not cleared after the fix")
	}
}

// Under --readonly the fix key is neither offered nor acted on.
func TestFixKeyAbsentUnderReadOnly(t *testing.T) {
	f := &fake{uris: []string{"test:///sick"}, parts: [][]model.Part{sickHost()}, err: []error{nil}, fixed: startPool}
	m := newModelFrom(t, f, Deps{Keys: keys.Default(), ReadOnly: true})
	km := keys.Default()
	selectRow(t, m, "stopped")
	press(t, m, km.Diagnose)
	topDiagnose(t, m)
	if strings.Contains(m.HelpText(), km.Fix.Help().Desc) || strings.Contains(m.View().Content, km.Fix.Help().Desc) {
		t.Errorf("the fix key is offered under --readonly:\n%s\n%s", m.HelpText(), m.View().Content)
	}
	press(t, m, km.Fix)
	topDiagnose(t, m)
	if len(f.fixes) != 0 {
		t.Fatalf("a fix was applied under --readonly: %+v", f.fixes)
	}
}

// The whole diagnosis (the storage probes and Ceph checks, Backend.Diagnose)
// joins the store's findings on the screen: a stale RBD lock on an image
// the VM uses shows on the VM's screen, in severity order, once, and its
// break-lock fix is offered.
func TestDiagnoseAddsTheWholeDiagnosis(t *testing.T) {
	lock := model.Finding{Severity: model.SeverityWarning, Object: "rbd image vms/root", Check: "rbd.stale-lock",
		Message: "Image vms/root has an exclusive lock held by client.4123.", Evidence: "rbd list lockers vms/root: client.4123",
		Related: []string{"image:vms/root", "vm:vm\x1b[31m"},
		Action:  &model.FixAction{Kind: model.FixBreakLock, Target: "vms/root", Detail: map[string]string{"locker": "client.4123", "cookie": "auto 1"}}}
	f := &fake{uris: []string{"test:///sick"}, parts: [][]model.Part{sickHost()}, err: []error{nil}, extra: []model.Finding{lock}}
	m := newModel(t, f, common.Actions{})
	km := keys.Default()
	press(t, m, km.VMs)
	press(t, m, km.Diagnose)
	fs := topDiagnose(t, m).Findings()
	var checks []string
	for _, f := range fs {
		checks = append(checks, f.Severity.String()+" "+f.Check)
	}
	if got := strings.Join(checks, ","); got != "critical disk.secret-missing,critical pool.inactive-in-use,warning pool.no-autostart-in-use,warning rbd.stale-lock" {
		t.Fatalf("the VM's findings with the whole diagnosis: %s", got)
	}
	view := m.View().Content
	if !strings.Contains(view, "rbd image vms/root") || strings.Contains(view, "still running") {
		t.Fatalf("the lock finding is not shown, or the screen still waits:\n%s", view)
	}
	if !diagnose.Fixable(fs[3]) {
		t.Error("break-lock is not offered as a fix")
	}
}
