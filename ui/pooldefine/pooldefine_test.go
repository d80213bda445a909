package pooldefine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"

	"stowage/model"
	"stowage/plan"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/keys"
	"stowage/ui/keys/keytest"
)

type fakeBackend struct {
	mu        sync.Mutex
	calls     []string
	nfsErr    error
	preflight error
	vgs       []model.VolumeGroup
	targets   []model.ISCSITarget
	defined   []model.PoolSpec
	secrets   [][]byte
}

func (f *fakeBackend) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeBackend) Pools(context.Context) ([]model.Pool, error) {
	return []model.Pool{{Name: "taken", Type: model.PoolDir}}, nil
}
func (f *fakeBackend) PreflightDefine(_ context.Context, s model.PoolSpec) error {
	f.record("preflight " + s.Name)
	return f.preflight
}
func (f *fakeBackend) PoolXML(s model.PoolSpec) (string, error) {
	return "<pool type='" + s.Type + "'><name>" + s.Name + "</name></pool>", nil
}
func (f *fakeBackend) DefinePool(_ context.Context, r plan.Runner, s model.PoolSpec, secret []byte) ([]plan.Leftover, error) {
	f.mu.Lock()
	f.defined = append(f.defined, s)
	f.secrets = append(f.secrets, append([]byte(nil), secret...))
	f.mu.Unlock()
	return nil, nil
}
func (f *fakeBackend) FindNFSExports(_ context.Context, host string) ([]model.NFSExport, error) {
	f.record("nfs " + host)
	return nil, f.nfsErr
}
func (f *fakeBackend) VolumeGroups(context.Context) ([]model.VolumeGroup, error) {
	f.record("vgs")
	return f.vgs, nil
}
func (f *fakeBackend) FindISCSITargets(_ context.Context, host string, port int, _ string) ([]model.ISCSITarget, error) {
	f.record(fmt.Sprintf("iscsi %s %d", host, port))
	return f.targets, nil
}
func (f *fakeBackend) BlockDevices(context.Context) ([]model.BlockDevice, error) {
	f.record("devices")
	return []model.BlockDevice{{Path: "/dev/sdb", Size: 1 << 30}}, nil
}

func open(t *testing.T, fb *fakeBackend) *Model {
	t.Helper()
	p, _ := themes.Lookup("dark")
	d := Deps{Styles: themes.Build(p, true), Connect: func(context.Context) (Backend, error) { return fb, nil },
		ReadSecret: func(path, _ string) ([]byte, error) { return []byte("s3cret-from-" + path), nil }}
	m := New(d, common.DriveTarget{HostURI: "qemu:///system"})
	m.Update(m.Init()())
	if m.phase != typeForm {
		t.Fatalf("phase %v after connecting, err %v", m.phase, m.err)
	}
	if !m.Capturing() {
		t.Error("the type form does not capture keys")
	}
	return m
}

func TestDiscoveryFailureLetsTheAdminType(t *testing.T) {
	fb := &fakeBackend{nfsErr: errors.New("no storage pools were found on host '127.0.0.1'")}
	m := open(t, fb)
	m.f.typ, m.f.srcHost = "netfs", "127.0.0.1"
	m.Update(m.discover()())
	if m.phase != fieldsForm {
		t.Fatalf("phase %v after a failed discovery", m.phase)
	}
	v := m.View()
	for _, want := range []string{"discovery:", "no NFS exports found at 127.0.0.1", "type the values instead"} {
		if !strings.Contains(v, want) {
			t.Errorf("the form does not show %q:\n%s", want, v)
		}
	}
	if m.f.pickExport != typeIt {
		t.Errorf("the export is not typed after a failed discovery: %q", m.f.pickExport)
	}
	m.f.srcPath = "/exports/vms"
	if got := m.f.spec().SourcePath; got != "/exports/vms" {
		t.Errorf("typed export not used: %q", got)
	}
}

func TestISCSIDirectDiscoversThroughISCSI(t *testing.T) {
	fb := &fakeBackend{targets: []model.ISCSITarget{{IQN: "iqn.2026-11.lab.stowage:san1", Portal: "127.0.0.1:3260"}}}
	m := open(t, fb)
	m.f.typ, m.f.portal = "iscsi-direct", "127.0.0.1"
	m.Update(m.discover()())
	if strings.Join(fb.calls, ";") != "iscsi 127.0.0.1 3260" {
		t.Fatalf("discovery calls %q: iscsi-direct must use the iscsi discovery only", fb.calls)
	}
	// The discovered target is the select's first option.
	m.f.pickIQN = "iqn.2026-11.lab.stowage:san1"
	if got := m.f.spec().IQN; got != "iqn.2026-11.lab.stowage:san1" {
		t.Errorf("picked target not used: %q", got)
	}
}

func TestStaleDiscoveryIsDropped(t *testing.T) {
	fb := &fakeBackend{vgs: []model.VolumeGroup{{Name: "vg_old"}}}
	m := open(t, fb)
	m.f.typ = "logical"
	first := m.discover()
	m.f.typ = "disk"
	second := m.discover()
	m.Update(first())
	if m.phase != discovering {
		t.Fatalf("an older discovery's answer was applied (phase %v)", m.phase)
	}
	m.Update(second())
	if m.phase != fieldsForm || len(m.found.devices) != 1 {
		t.Fatalf("the current discovery's answer: phase %v, found %+v", m.phase, m.found)
	}
}

func TestFieldsValidateAsTyped(t *testing.T) {
	m := open(t, &fakeBackend{})
	m.f.typ, m.f.name = "dir", "taken"
	if err := m.check("name")(""); err == nil || !strings.Contains(err.Error(), `pool "taken" exists`) {
		t.Errorf("a taken name: %v", err)
	}
	m.f.target = "var/lib/x"
	if err := m.check("target")(""); err == nil || !strings.Contains(err.Error(), "/var/lib/x") {
		t.Errorf("a relative directory: %v", err)
	}
	m.f.typ, m.f.pickDev, m.f.typedDevs, m.f.build, m.f.overwrite, m.f.name = "disk", typeIt, "/dev/sdb", true, true, "d1"
	if err := model.ConfirmOverwrite(m.f.spec(), "nope"); err == nil {
		t.Error("overwrite confirmed by a wrong name")
	}
}

func TestPreflightRefusalReturnsToTheForm(t *testing.T) {
	fb := &fakeBackend{preflight: errors.New(`volume group "vg9" does not exist`)}
	m := open(t, fb)
	m.f = fields{typ: "logical", name: "l", vg: "vg9", pickVG: typeIt, start: true}
	m.buildFieldsForm()
	m.Update(m.prepare()())
	if m.phase != fieldsForm || !strings.Contains(m.View(), "does not exist") {
		t.Fatalf("phase %v; view:\n%s", m.phase, m.View())
	}
}

func TestReviewThenRunByBinding(t *testing.T) {
	fb := &fakeBackend{}
	m := open(t, fb)
	km := keys.Default().DriveWizard
	m.f = fields{typ: "iscsi", name: "i1", portal: "127.0.0.1", pickIQN: typeIt, iqn: "iqn.2026-11.lab.stowage:san1",
		chapUser: "u", secretFile: "/root/chap", start: true}
	m.buildFieldsForm()
	m.Update(m.prepare()())
	if m.phase != review {
		t.Fatalf("phase %v, err %v", m.phase, m.err)
	}
	v := m.View()
	for _, want := range []string{"<pool type='iscsi'>", "virsh pool-define i1.xml", "define the CHAP secret"} {
		if !strings.Contains(v, want) {
			t.Errorf("review lacks %q:\n%s", want, v)
		}
	}
	m.Update(keytest.Press(km.Back))
	if m.phase != fieldsForm {
		t.Fatalf("back from the review: phase %v", m.phase)
	}
	m.Update(m.prepare()())
	_, cmd := m.Update(keytest.Press(km.Create))
	if m.phase != running || cmd == nil {
		t.Fatalf("create from the review: phase %v", m.phase)
	}
	// The first of the progress view's batch runs the plan.
	batch, ok := cmd().(tea.BatchMsg)
	if !ok || len(batch) == 0 {
		t.Fatalf("the run's Cmd: %T", batch)
	}
	m.Update(batch[0]())
	if len(fb.defined) != 1 || fb.defined[0].CHAPUsage != "stowage-chap-i1" || fb.defined[0].IQN != "iqn.2026-11.lab.stowage:san1" {
		t.Fatalf("defined %+v", fb.defined)
	}
	if string(fb.secrets[0]) != "s3cret-from-/root/chap" {
		t.Errorf("the secret file was not read by the run")
	}
	if strings.Contains(m.View(), "s3cret") {
		t.Error("the secret reached the screen")
	}
}

func TestEveryTypeBuildsItsForm(t *testing.T) {
	fb := &fakeBackend{vgs: []model.VolumeGroup{{Name: "vg0", Devices: []string{"/dev/sdc"}}},
		targets: []model.ISCSITarget{{IQN: "iqn.2026-11.lab.stowage:san1", Portal: "127.0.0.1:3260"}}}
	for _, typ := range model.DefinableTypes {
		for _, found := range []bool{false, true} {
			m := open(t, fb)
			m.f.typ, m.f.srcHost, m.f.portal = string(typ), "nas", "127.0.0.1"
			m.SetSize(100, 40)
			if found {
				m.Update(m.discover()())
			} else {
				m.phase = fieldsForm
				m.buildFieldsForm()
			}
			m.Update(m.form.Init()())
			if v := m.View(); !strings.Contains(v, string(typ)+" pool on qemu:///system") {
				t.Errorf("%s form (discovered %v):\n%s", typ, found, v)
			}
		}
	}
}
