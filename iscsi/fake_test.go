package iscsi

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"libvirt.org/go/libvirtxml"

	"stowage/libvirtx"
	"stowage/model"
)

// fakeHost is an in-memory hypervisor: pools, LUNs of one target, VGs and
// secrets, with every mutating call recorded and failures injectable by
// "Method name" (e.g. "PoolStart data").
type fakeHost struct {
	pools   map[string]*fakePool
	order   []string
	luns    []model.LUN // LUNs the iscsi pool shows once started
	sdev    map[string]string
	vgs     []model.VolumeGroup
	secrets map[string]string // usage → UUID
	heads   map[string][]byte // LUN volume → its first bytes (zeros when absent)
	domains []model.Domain
	fail    map[string]error
	calls   []string
	uuids   int
	// onCall, when set, runs after each recorded call (a second admin
	// acting between stowage's calls).
	onCall func(what string)
}

type fakePool struct {
	xml               string
	active, autostart bool
}

func newFake() *fakeHost {
	f := &fakeHost{pools: map[string]*fakePool{}, secrets: map[string]string{}, heads: map[string][]byte{}, fail: map[string]error{}, sdev: map[string]string{}}
	for i, dev := range []string{"sda", "sdb", "sdc"} {
		path := fmt.Sprintf("/dev/disk/by-path/ip-10.0.2.2:3260-iscsi-iqn.2026-11.lab.stowage:san2-lun-%d", i+1)
		f.luns = append(f.luns, model.LUN{Number: i + 1, Volume: fmt.Sprintf("unit:0:0:%d", i+1), Path: path, Capacity: 128 << 20})
		f.sdev["/dev/"+dev] = path
	}
	return f
}

func (f *fakeHost) call(what string) error {
	f.calls = append(f.calls, what)
	if f.onCall != nil {
		f.onCall(what)
	}
	return f.fail[what]
}

func (f *fakeHost) FindISCSITargets(_ context.Context, host string, port int, _ string) ([]model.ISCSITarget, error) {
	if err := f.call(fmt.Sprintf("Find %s:%d", host, port)); err != nil {
		return nil, err
	}
	return []model.ISCSITarget{{IQN: "iqn.2026-11.lab.stowage:san2", Portal: fmt.Sprintf("%s:%d", host, port)}}, nil
}

func (f *fakeHost) Pools(context.Context) ([]model.Pool, error) {
	var out []model.Pool
	for _, n := range f.order {
		p := f.pools[n]
		mp, err := libvirtx.PoolFromXML(p.xml)
		if err != nil {
			return nil, err
		}
		mp.Active, mp.Autostart, mp.Persistent = p.active, p.autostart, true
		out = append(out, mp)
	}
	return out, nil
}

func (f *fakeHost) PoolSourceOf(_ context.Context, name string) (model.PoolSource, error) {
	p, ok := f.pools[name]
	if !ok {
		return model.PoolSource{}, fmt.Errorf("no pool %q", name)
	}
	return libvirtx.PoolSourceFromXML(p.xml)
}

// DefineISCSIPool and DefineLogicalPool keep the pool as the XML libvirtx
// would send for the spec: the fake's state is what libvirt would hold.
func (f *fakeHost) DefineISCSIPool(ctx context.Context, spec model.ISCSIPoolSpec) (string, error) {
	doc, err := libvirtx.ISCSIPoolXML(spec)
	if err != nil {
		return "", err
	}
	return f.definePool(ctx, doc)
}

func (f *fakeHost) DefineLogicalPool(ctx context.Context, spec model.LogicalPoolSpec) (string, error) {
	doc, err := libvirtx.LogicalPoolXML(spec)
	if err != nil {
		return "", err
	}
	return f.definePool(ctx, doc)
}

func (f *fakeHost) newUUID() string {
	f.uuids++
	return fmt.Sprintf("00000000-0000-0000-0000-%012d", f.uuids)
}

func (f *fakeHost) definePool(_ context.Context, doc string) (string, error) {
	src, err := libvirtx.PoolFromXML(doc)
	if err != nil {
		return "", err
	}
	if err := f.call("PoolDefine " + src.Name); err != nil {
		return "", err
	}
	// Like libvirt: a name keeps its UUID; redefining needs the same one.
	var x libvirtxml.StoragePool
	if err := x.Unmarshal(doc); err != nil {
		return "", err
	}
	if p, ok := f.pools[src.Name]; ok {
		old, _ := libvirtx.PoolSourceFromXML(p.xml)
		if x.UUID != old.UUID {
			return "", fmt.Errorf("pool %q already exists with uuid %s", src.Name, old.UUID)
		}
		p.xml = doc
		return x.UUID, nil
	}
	if x.UUID == "" {
		x.UUID = f.newUUID()
	}
	doc, err = x.Marshal()
	if err != nil {
		return "", err
	}
	f.pools[src.Name] = &fakePool{xml: doc}
	f.order = append(f.order, src.Name)
	return x.UUID, nil
}

func (f *fakeHost) PoolUUID(_ context.Context, name string) (string, bool, error) {
	p, ok := f.pools[name]
	if !ok {
		return "", false, nil
	}
	src, err := libvirtx.PoolSourceFromXML(p.xml)
	return src.UUID, true, err
}

func (f *fakeHost) PoolIf(ctx context.Context, name string, act model.PoolAct, check func(string) error) error {
	uuid, ok, _ := f.PoolUUID(ctx, name)
	if !ok {
		return nil
	}
	if err := check(uuid); err != nil {
		return err
	}
	switch act {
	case model.PoolActStop:
		return f.PoolStop(ctx, name)
	case model.PoolActUndefine:
		return f.PoolUndefine(ctx, name)
	case model.PoolActAutostartOff:
		return f.PoolAutostart(ctx, name, false)
	case model.PoolActDeleteData:
		return f.PoolDeleteData(ctx, name)
	case model.PoolActStart:
		return f.PoolStart(ctx, name)
	case model.PoolActBuild, model.PoolActBuildOverwrite:
		return f.PoolBuild(ctx, name, act == model.PoolActBuildOverwrite)
	}
	return fmt.Errorf("act %d", act)
}

func (f *fakeHost) ReadVolumeHead(_ context.Context, _, vol string, n uint64) ([]byte, error) {
	if h, ok := f.heads[vol]; ok {
		return h[:min(len(h), int(n))], nil
	}
	return make([]byte, n), nil
}

func (f *fakeHost) Domains(context.Context) ([]model.Domain, error) {
	return slices.Clone(f.domains), nil
}

func (f *fakeHost) pool(name string) (*fakePool, error) {
	p, ok := f.pools[name]
	if !ok {
		return nil, fmt.Errorf("no pool %q", name)
	}
	return p, nil
}

func (f *fakeHost) PoolStart(_ context.Context, name string) error {
	if err := f.call("PoolStart " + name); err != nil {
		return err
	}
	p, err := f.pool(name)
	if err != nil {
		return err
	}
	p.active = true
	return nil
}

func (f *fakeHost) PoolBuild(ctx context.Context, name string, overwrite bool) error {
	if err := f.call(fmt.Sprintf("PoolBuild %s overwrite=%v", name, overwrite)); err != nil {
		return err
	}
	src, _ := f.PoolSourceOf(ctx, name)
	var devs []string
	for _, d := range src.Devices {
		for sd, path := range f.sdev {
			if path == d {
				devs = append(devs, sd)
			}
		}
	}
	slices.Sort(devs)
	f.vgs = append(f.vgs, model.VolumeGroup{Name: src.Name, Devices: devs})
	return nil
}

func (f *fakeHost) PoolAutostart(_ context.Context, name string, on bool) error {
	if err := f.call(fmt.Sprintf("PoolAutostart %s %v", name, on)); err != nil {
		return err
	}
	p, err := f.pool(name)
	if err != nil {
		return err
	}
	p.autostart = on
	return nil
}

func (f *fakeHost) PoolStop(_ context.Context, name string) error {
	if err := f.call("PoolStop " + name); err != nil {
		return err
	}
	p, err := f.pool(name)
	if err != nil {
		return err
	}
	p.active = false
	return nil
}

func (f *fakeHost) PoolDeleteData(ctx context.Context, name string) error {
	if err := f.call("PoolDeleteData " + name); err != nil {
		return err
	}
	src, _ := f.PoolSourceOf(ctx, name)
	f.vgs = slices.DeleteFunc(f.vgs, func(vg model.VolumeGroup) bool { return vg.Name == src.Name })
	return nil
}

func (f *fakeHost) PoolUndefine(_ context.Context, name string) error {
	if err := f.call("PoolUndefine " + name); err != nil {
		return err
	}
	delete(f.pools, name)
	f.order = slices.DeleteFunc(f.order, func(n string) bool { return n == name })
	return nil
}

func (f *fakeHost) RefreshPool(_ context.Context, name string) error {
	f.calls = append(f.calls, "RefreshPool "+name)
	return nil
}

func (f *fakeHost) LUNs(_ context.Context, pool string) ([]model.LUN, error) {
	p, err := f.pool(pool)
	if err != nil || !p.active {
		return nil, fmt.Errorf("pool %q is not active", pool)
	}
	return slices.Clone(f.luns), nil
}

func (f *fakeHost) VolumeGroups(context.Context) ([]model.VolumeGroup, error) {
	return slices.Clone(f.vgs), nil
}

func (f *fakeHost) VolumeByPath(_ context.Context, path string) (string, string, error) {
	byPath := f.sdev[path]
	for _, l := range f.luns {
		if l.Path == byPath {
			for _, n := range f.order {
				if strings.Contains(f.pools[n].xml, "type=\"iscsi\"") && f.pools[n].active {
					return n, l.Volume, nil
				}
			}
		}
	}
	return "", "", fmt.Errorf("no volume at %s", path)
}

func (f *fakeHost) DefineCHAPSecret(_ context.Context, usage, _ string, value []byte) (string, error) {
	if err := f.call("DefineCHAPSecret " + usage); err != nil {
		return "", err
	}
	if _, ok := f.secrets[usage]; ok {
		return "", fmt.Errorf("a secret with usage %q already exists", usage)
	}
	f.secrets[usage] = f.newUUID()
	return f.secrets[usage], nil
}

func (f *fakeHost) CHAPSecretUUID(_ context.Context, usage string) (string, bool, error) {
	u, ok := f.secrets[usage]
	return u, ok, nil
}

func (f *fakeHost) RemoveCHAPSecretIf(_ context.Context, usage string, check func(string) error) error {
	u, ok := f.secrets[usage]
	if !ok {
		return nil
	}
	if err := check(u); err != nil {
		return err
	}
	if err := f.call("RemoveCHAPSecret " + usage); err != nil {
		return err
	}
	delete(f.secrets, usage)
	return nil
}

// mutations returns the recorded calls that change the host.
func (f *fakeHost) mutations() []string {
	var out []string
	for _, c := range f.calls {
		if !strings.HasPrefix(c, "RefreshPool") && !strings.HasPrefix(c, "Find") {
			out = append(out, c)
		}
	}
	return out
}
