package iscsiwizard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"stowage/iscsi"
	"stowage/model"
	"stowage/ui/common"
)

const (
	testIQN  = "iqn.2026-11.lab.stowage:san2"
	lun1Path = "/dev/disk/by-path/ip-10.0.2.2:3260-iscsi-iqn.2026-11.lab.stowage:san2-lun-1"
)

// loginHost is a hypervisor for the wizard's login and probe phases:
// discovery, a CHAP secret, one iscsi pool with one LUN, its VMs. Calls
// outside those panic (the embedded interface is nil). Its fields are
// read by the test only after the phase's message arrived.
type loginHost struct {
	iscsi.Host
	secret         []byte // the value DefineCHAPSecret was given
	pools          []model.Pool
	sources        []model.PoolSource // of pools, by index
	domains        []model.Domain
	failDefinePool error
}

func (h *loginHost) FindISCSITargets(_ context.Context, host string, port int, _ string) ([]model.ISCSITarget, error) {
	return []model.ISCSITarget{{IQN: testIQN, Portal: fmt.Sprintf("%s:%d", host, port)}}, nil
}
func (h *loginHost) Pools(context.Context) ([]model.Pool, error) { return slices.Clone(h.pools), nil }
func (h *loginHost) CHAPSecretUUID(context.Context, string) (string, bool, error) {
	return "", false, nil
}
func (h *loginHost) DefineCHAPSecret(_ context.Context, _, _ string, value []byte) (string, error) {
	h.secret = slices.Clone(value)
	return "secret-uuid", nil
}
func (h *loginHost) RemoveCHAPSecretIf(_ context.Context, _ string, check func(string) error) error {
	return check("secret-uuid")
}
func (h *loginHost) DefineISCSIPool(_ context.Context, s model.ISCSIPoolSpec) (string, error) {
	if h.failDefinePool != nil {
		return "", h.failDefinePool
	}
	h.pools = append(h.pools, model.Pool{Name: s.Name, UUID: "pool-uuid", Type: model.PoolISCSI,
		SourceHosts: []string{fmt.Sprintf("%s:%d", s.Host, s.Port)}, AuthUser: s.CHAPUser})
	h.sources = append(h.sources, model.PoolSource{Hosts: []string{fmt.Sprintf("%s:%d", s.Host, s.Port)}, Devices: []string{s.Target}})
	return "pool-uuid", nil
}
func (h *loginHost) PoolSourceOf(_ context.Context, name string) (model.PoolSource, error) {
	for i, p := range h.pools {
		if p.Name == name && i < len(h.sources) {
			return h.sources[i], nil
		}
	}
	return model.PoolSource{}, fmt.Errorf("pool %s: %w", name, model.ErrNotFound)
}
func (h *loginHost) PoolStart(context.Context, string) error                   { return nil }
func (h *loginHost) PoolAutostart(context.Context, string, bool) error         { return nil }
func (h *loginHost) RefreshPool(context.Context, string) error                 { return nil }
func (h *loginHost) VolumeGroups(context.Context) ([]model.VolumeGroup, error) { return nil, nil }
func (h *loginHost) Domains(context.Context) ([]model.Domain, error)           { return h.domains, nil }
func (h *loginHost) LUNs(context.Context, string) ([]model.LUN, error) {
	return []model.LUN{{Number: 1, Volume: "unit:0:0:1", Path: lun1Path, Capacity: 128 << 20}}, nil
}
func (h *loginHost) VolumeByPath(context.Context, string) (string, string, error) {
	return "", "", errors.New("no volume with that path")
}

// otherHost is another connected host: only its VMs are asked for.
type otherHost struct{ domains []model.Domain }

func (o otherHost) Domains(context.Context) ([]model.Domain, error) { return o.domains, nil }
func (o otherHost) VolumeByPath(context.Context, string) (string, string, error) {
	return "", "", errors.New("no volume with that path")
}

// drain runs a Cmd and the Cmds its messages lead to, as the program
// would, until the phase that Cmd belongs to reports back.
func drain(t *testing.T, m *Model, cmd tea.Cmd) {
	t.Helper()
	for steps := 0; cmd != nil; steps++ {
		if steps > 100 {
			t.Fatal("the phase does not end")
		}
		msg := cmd()
		_, cmd = m.Update(msg)
		switch msg.(type) {
		case phaseDoneMsg, discoveredMsg:
			return
		}
	}
}

// toTargets types portal, CHAP user and secret by the wizard's keys and
// runs discovery.
func toTargets(t *testing.T, m *Model, user, secret string) {
	t.Helper()
	k := m.d.Keys
	typeText(m, "10.0.2.2")
	press(t, m, k.Field)
	typeText(m, user)
	press(t, m, k.Next) // to the secret
	typeText(m, secret)
	drain(t, m, press(t, m, k.Next))
	if m.stage != stageTargets {
		t.Fatalf("stage %d after discovery, err %q", m.stage, m.err)
	}
}

// The CHAP secret reaches iscsi as the bytes typed, and those bytes are
// zeroed once the login phase used them, whether it succeeded or failed;
// a new login then asks for the secret again.
func TestCHAPSecretBytesClearedAfterLogin(t *testing.T) {
	const typed = "s3cret typed"
	for _, fail := range []error{nil, errors.New("pool define failed")} {
		t.Run(fmt.Sprintf("fail=%v", fail), func(t *testing.T) {
			h := &loginHost{failDefinePool: fail}
			m := newWizard(t, h)
			toTargets(t, m, "chapuser", typed)
			if m.chapSecret.Len() != len(typed) {
				t.Fatalf("after discovery the field holds %d bytes, want the %d typed", m.chapSecret.Len(), len(typed))
			}
			cmd := press(t, m, m.d.Keys.Next)
			handed := m.chapHanded
			if cmd == nil || len(handed) != len(typed) || !m.chapSecret.Empty() {
				t.Fatalf("the login did not take the secret from the field: cmd %v, handed %d bytes, field %d bytes",
					cmd != nil, len(handed), m.chapSecret.Len())
			}
			drain(t, m, cmd)
			if string(h.secret) != typed {
				t.Fatalf("libvirt's secret got %q, want the bytes typed", h.secret)
			}
			if slices.ContainsFunc(handed, func(b byte) bool { return b != 0 }) || m.chapHanded != nil {
				t.Fatalf("%d of the secret's bytes are not zeroed after the login", len(handed)-bytes.Count(handed, []byte{0}))
			}
			if fail == nil && m.stage != stageLUNs || fail != nil && (m.stage != stageTargets || !strings.Contains(m.err, "pool define failed")) {
				t.Fatalf("stage %d err %q", m.stage, m.err)
			}
			if fail == nil {
				press(t, m, m.d.Keys.Back) // to the targets
			}
			// Picking the target again needs the secret typed again.
			if cmd := press(t, m, m.d.Keys.Next); cmd != nil || m.stage != stagePortal || !m.onSecret() || !strings.Contains(m.err, "CHAP secret again") {
				t.Fatalf("a second login without the secret: cmd %v, stage %d, field %d, err %q", cmd != nil, m.stage, m.field, m.err)
			}
		})
	}
}

// Going back from the targets, or closing the wizard, clears the secret.
func TestCHAPSecretClearedOnBackAndClose(t *testing.T) {
	m := newWizard(t, &loginHost{})
	toTargets(t, m, "chapuser", "typed-secret")
	press(t, m, m.d.Keys.Back)
	if m.stage != stagePortal || !m.chapSecret.Empty() {
		t.Fatalf("back to the portal kept %d secret bytes", m.chapSecret.Len())
	}
	press(t, m, m.d.Keys.Field) // the focus was on the portal: move to the secret
	press(t, m, m.d.Keys.Field)
	typeText(m, "again")
	if m.chapSecret.Len() != len("again") {
		t.Fatalf("typed into the secret: %d bytes", m.chapSecret.Len())
	}
	cmd := press(t, m, m.d.Keys.Back)
	if _, ok := cmd().(common.PopMsg); !ok || !m.chapSecret.Empty() {
		t.Fatal("closing the wizard kept the secret")
	}
}

// A LUN that a VM on another connected host uses is refused, naming that
// host; so is any LUN while a connected host cannot be checked.
func TestLUNUsedOnAnotherConnectedHostRefused(t *testing.T) {
	const hv2 = "qemu+ssh://root@hv2/system"
	web := model.Domain{Name: "web", Disks: []model.Disk{{Target: "vdb", SourceType: "block", Source: lun1Path}}}
	for _, tc := range []struct {
		name  string
		other iscsi.OtherHost
		want  []string
	}{
		{"VM uses the LUN", iscsi.OtherHost{URI: hv2, Host: otherHost{domains: []model.Domain{web}}},
			[]string{`LUN 1 is disk vdb of VM "web" on connected host ` + hv2}},
		{"host unreachable", iscsi.OtherHost{URI: hv2, Err: errors.New("connection refused")},
			[]string{"cannot check that no VM on connected host " + hv2, "connection refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &loginHost{}
			m := newWizard(t, h)
			asked := 0
			m.d.Others = func(context.Context) []iscsi.OtherHost { asked++; return []iscsi.OtherHost{tc.other} }
			typeText(m, "10.0.2.2")
			drain(t, m, press(t, m, m.d.Keys.Next))
			drain(t, m, press(t, m, m.d.Keys.Next)) // log in
			if m.stage != stageLUNs || asked != 0 {
				t.Fatalf("after the login: stage %d, err %q, other hosts asked %d times (the login needs none)", m.stage, m.err, asked)
			}
			press(t, m, m.d.Keys.Toggle)
			drain(t, m, press(t, m, m.d.Keys.Next)) // probe
			if asked != 1 || m.stage != stageLUNs || m.findings != nil {
				t.Fatalf("the probe went on: asked %d, stage %d, findings %v", asked, m.stage, m.findings)
			}
			v := m.View()
			for _, w := range tc.want {
				if !strings.Contains(m.err, w) || !strings.Contains(v, w) {
					t.Errorf("error %q (on screen: %v) does not say %q", m.err, strings.Contains(v, w), w)
				}
			}
		})
	}
}
