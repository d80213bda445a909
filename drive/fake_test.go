package drive

import (
	"context"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"stowage/ceph"
	"stowage/libvirtx"
	"stowage/model"
)

// fakeLibvirt is an in-memory host for unit tests of the workflow logic:
// it records every mutating call, and fails the one named in failOn.
type fakeLibvirt struct {
	mu      sync.Mutex
	version string
	pools   map[string]model.Pool
	vols    map[string]model.Volume // pool/name
	secrets map[string]model.Secret
	values  map[string][]byte
	doms    map[string]*fakeDom
	calls   []string
	failOn  string
	n       int
	// benchmarkFailures is how many retries of QEMU's LUKS benchmark
	// failure CreateVolumeWatched reports before it succeeds.
	benchmarkFailures int
	// createTimesOut makes CreateVolumeWatched make the volume and then
	// report libvirtx.ErrTimeout, as a cut call would.
	createTimesOut bool
	// beforeMutate runs before each mutating call (a second admin acting
	// between stowage's steps); it runs with f.mu held or not, as the
	// call does, so it must not call the fake's methods.
	beforeMutate func(call string)
	ceph         *fakeCeph
	// byteCopy makes clones keep the source's LUKS header (clone_test.go).
	byteCopy bool
}

type fakeDom struct {
	state      string
	persistent bool
	live, cfg  []model.Disk
}

func newFake() *fakeLibvirt {
	return &fakeLibvirt{
		version: "9.0.0",
		pools: map[string]model.Pool{
			"dir":   {Name: "dir", Type: model.PoolDir, Active: true, Available: 10 << 30, TargetPath: "/p"},
			"rbd":   {Name: "rbd", Type: model.PoolRBD, Active: true, Available: 10 << 30, SourceName: "cp", SourceHosts: []string{"127.0.0.1:6789"}, AuthUser: "libvirt", AuthSecretUUID: "ceph-uuid"},
			"off":   {Name: "off", Type: model.PoolDir, Active: false},
			"lvm":   {Name: "lvm", Type: model.PoolLogical, Active: true, Available: 1 << 30, TargetPath: "/dev/vg"},
			"iscsi": {Name: "iscsi", Type: model.PoolISCSIDirect, Active: true},
		},
		vols:    map[string]model.Volume{"dir/taken": {Name: "taken", Pool: "dir", Path: "/p/taken"}},
		secrets: map[string]model.Secret{},
		values:  map[string][]byte{},
		doms: map[string]*fakeDom{
			"vm":  {state: "running", persistent: true, live: []model.Disk{{Target: "vda"}}, cfg: []model.Disk{{Target: "vda"}}},
			"off": {state: "shut-off", persistent: true},
		},
	}
}

func notFound(what string) error {
	return fmt.Errorf("%s: %w", what, model.ErrNotFound)
}

func (f *fakeLibvirt) mutate(call string) error {
	if f.beforeMutate != nil {
		f.beforeMutate(call)
	}
	f.calls = append(f.calls, call)
	if f.failOn != "" && strings.HasPrefix(call, f.failOn) {
		return fmt.Errorf("fake failure in %s", call)
	}
	return nil
}

func (f *fakeLibvirt) Versions(context.Context) (string, string, error) {
	return f.version, "7.2.0", nil
}
func (f *fakeLibvirt) Pool(_ context.Context, n string) (model.Pool, error) {
	p, ok := f.pools[n]
	if !ok {
		return p, notFound("pool " + n)
	}
	return p, nil
}
func (f *fakeLibvirt) Pools(context.Context) ([]model.Pool, error) {
	var out []model.Pool
	for _, p := range f.pools {
		out = append(out, p)
	}
	return out, nil
}
func (f *fakeLibvirt) Volumes(_ context.Context, pool string) ([]model.Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []model.Volume
	for k, v := range f.vols {
		if strings.HasPrefix(k, pool+"/") {
			out = append(out, v)
		}
	}
	return out, nil
}
func (f *fakeLibvirt) DeleteVolumeIf(ctx context.Context, pool, name string, check func(model.Volume) error) error {
	v, err := f.Volume(ctx, pool, name)
	if err != nil {
		return nil // gone already
	}
	if err := check(v); err != nil {
		f.mu.Lock()
		f.calls = append(f.calls, "kept "+pool+"/"+name)
		f.mu.Unlock()
		return err
	}
	return f.DeleteVolume(ctx, pool, name)
}
func (f *fakeLibvirt) VolumeKeyByPath(_ context.Context, path string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.vols {
		if v.Path == path {
			return v.Key, true, nil
		}
	}
	return "", false, nil
}
func (f *fakeLibvirt) VolumeNames(_ context.Context, pool string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k, v := range f.vols {
		if strings.HasPrefix(k, pool+"/") {
			out = append(out, v.Name)
		}
	}
	return out, nil
}
func (f *fakeLibvirt) Volume(_ context.Context, pool, name string) (model.Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vols[pool+"/"+name]
	if !ok {
		return v, notFound("volume " + name)
	}
	return v, nil
}
func (f *fakeLibvirt) CreateVolumeWatched(_ context.Context, pool string, s model.VolumeSpec, _ *model.Cipher,
	w model.CreateWatch) (model.Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.mutate("create-volume " + pool + "/" + s.Name); err != nil {
		return model.Volume{}, err
	}
	// libvirtx retries QEMU's benchmark failure itself (luksretry.go);
	// the fake reports the retries it would have made.
	for k := 1; k <= f.benchmarkFailures; k++ {
		cause := fmt.Errorf("create volume %s/%s: internal error: qemu-img: Unable to get accurate CPU usage", pool, s.Name)
		w.Retried(k, libvirtx.LUKSBenchmarkAttempts, libvirtx.BriefCause(cause), cause)
	}
	w.Progress(s.Capacity/2, s.Capacity)
	p := path.Join(f.pools[pool].TargetPath, s.Name)
	v := model.Volume{Name: s.Name, Pool: pool, Path: p, Key: p, Capacity: s.Capacity, Encryption: s.Encryption}
	f.vols[pool+"/"+s.Name] = v
	if f.createTimesOut {
		return model.Volume{}, fmt.Errorf("create volume %s/%s: %w (waited 10m; connection closed)", pool, s.Name, libvirtx.ErrTimeout)
	}
	return v, nil
}
func (f *fakeLibvirt) DeleteVolume(_ context.Context, pool, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.mutate("delete-volume " + pool + "/" + name); err != nil {
		return err
	}
	if _, ok := f.vols[pool+"/"+name]; !ok {
		return notFound("volume")
	}
	delete(f.vols, pool+"/"+name)
	return nil
}
func (f *fakeLibvirt) RefreshPool(_ context.Context, pool string) error {
	if err := f.mutate("refresh " + pool); err != nil {
		return err
	}
	// An rbd pool lists what the fake cluster holds.
	if f.ceph != nil && pool == "rbd" {
		for k := range f.vols {
			if strings.HasPrefix(k, "rbd/") {
				delete(f.vols, k)
			}
		}
		for img, size := range f.ceph.images {
			name := strings.TrimPrefix(img, "cp/")
			f.vols["rbd/"+name] = model.Volume{Name: name, Pool: "rbd", Path: img, Capacity: size}
		}
	}
	return nil
}
func (f *fakeLibvirt) DefineVolumeSecret(_ context.Context, usage, desc string) (string, error) {
	if err := f.mutate("define-secret " + usage); err != nil {
		return "", err
	}
	for _, s := range f.secrets {
		if s.UsageID == usage {
			return "", fmt.Errorf("a secret for %s already exists", usage)
		}
	}
	f.n++
	u := fmt.Sprintf("uuid-%d", f.n)
	f.secrets[u] = model.Secret{UUID: u, UsageType: "volume", UsageID: usage, Description: desc, Private: true}
	return u, nil
}
func (f *fakeLibvirt) SetSecretValue(_ context.Context, u string, v []byte) error {
	if err := f.mutate("set-secret " + u); err != nil {
		return err
	}
	f.values[u] = append([]byte(nil), v...)
	return nil
}
func (f *fakeLibvirt) UndefineSecret(_ context.Context, u string) error {
	if err := f.mutate("undefine-secret " + u); err != nil {
		return err
	}
	delete(f.secrets, u)
	delete(f.values, u)
	return nil
}
func (f *fakeLibvirt) Secret(_ context.Context, u string) (model.Secret, error) {
	s, ok := f.secrets[u]
	if !ok {
		return s, notFound("secret")
	}
	return s, nil
}
func (f *fakeLibvirt) SecretByVolumeUsage(_ context.Context, usage string) (string, bool, error) {
	for u, s := range f.secrets {
		if s.UsageID == usage {
			return u, true, nil
		}
	}
	return "", false, nil
}
func (f *fakeLibvirt) SecretValue(_ context.Context, u string) ([]byte, error) {
	return nil, fmt.Errorf("private")
}
func (f *fakeLibvirt) DomainNames(context.Context) ([]string, error) {
	var out []string
	for n := range f.doms {
		out = append(out, n)
	}
	return out, nil
}
func (f *fakeLibvirt) Domain(_ context.Context, n string, inactive bool) (model.Domain, error) {
	d, ok := f.doms[n]
	if !ok {
		return model.Domain{}, fmt.Errorf("no vm: %w", model.ErrNotFound)
	}
	disks := d.live
	if inactive || d.state != "running" {
		disks = d.cfg
	}
	return model.Domain{Name: n, State: d.state, Persistent: d.persistent, Disks: append([]model.Disk(nil), disks...)}, nil
}
func (f *fakeLibvirt) AttachDisk(_ context.Context, vm string, s model.DiskSpec, live, persistent bool) error {
	if err := f.mutate(fmt.Sprintf("attach %s %s live=%v persistent=%v engine=%s", vm, s.Target, live, persistent, engineOf(s))); err != nil {
		return err
	}
	d := f.doms[vm]
	k := model.Disk{Target: s.Target, Source: s.Path, Encryption: s.Encryption}
	if s.RBD != "" {
		k.Source = "rbd:" + s.RBD
	}
	if live {
		d.live = append(d.live, k)
	}
	if persistent {
		d.cfg = append(d.cfg, k)
	}
	return nil
}
func engineOf(s model.DiskSpec) string {
	if s.Encryption == nil {
		return "none"
	}
	if s.Encryption.Engine == "" {
		return "qemu"
	}
	return s.Encryption.Engine
}
func (f *fakeLibvirt) DetachDisk(_ context.Context, vm, target string, live, persistent bool, _ time.Duration) (model.DetachResult, error) {
	if err := f.mutate(fmt.Sprintf("detach %s %s live=%v persistent=%v", vm, target, live, persistent)); err != nil {
		return model.DetachResult{}, err
	}
	d := f.doms[vm]
	drop := func(ks []model.Disk) []model.Disk {
		var out []model.Disk
		for _, k := range ks {
			if k.Target != target {
				out = append(out, k)
			}
		}
		return out
	}
	if live {
		d.live = drop(d.live)
	}
	if persistent {
		d.cfg = drop(d.cfg)
	}
	return model.DetachResult{}, nil
}

// fakeCeph records image operations.
type fakeCeph struct {
	f       *fakeLibvirt
	images  map[string]uint64
	formats map[string]string
	pass    [][]byte
}

func (c *fakeCeph) CreateImage(pool, name string, size uint64) error {
	if err := c.f.mutate("rbd-create " + pool + "/" + name); err != nil {
		return err
	}
	c.images[pool+"/"+name] = size
	return nil
}
func (c *fakeCeph) FormatLUKS(pool, name, format string, pass []byte) error {
	if err := c.f.mutate("rbd-format " + format); err != nil {
		return err
	}
	c.formats[pool+"/"+name] = format
	c.pass = append(c.pass, append([]byte(nil), pass...))
	return nil
}
func (c *fakeCeph) RemoveImage(pool, name string) error {
	if err := c.f.mutate("rbd-rm " + pool + "/" + name); err != nil {
		return err
	}
	delete(c.images, pool+"/"+name)
	return nil
}
func (c *fakeCeph) Close() {}
func (c *fakeCeph) ImageID(pool, name string) (string, error) {
	if _, ok := c.images[pool+"/"+name]; !ok {
		return "", fmt.Errorf("no image %s/%s", pool, name)
	}
	return "id-" + name, nil
}
func (c *fakeCeph) RemoveImageIfID(pool, name, id string) error {
	if now, err := c.ImageID(pool, name); err != nil || now != id {
		return fmt.Errorf("image %s/%s is not %s: %w", pool, name, id, ceph.ErrImageReplaced)
	}
	return c.RemoveImage(pool, name)
}
