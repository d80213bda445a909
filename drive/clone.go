package drive

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"time"

	"stowage/model"
)

// Cloner is what a clone needs of libvirt beyond Libvirt (*libvirtx.Conn
// has it): virStorageVolCreateXMLFrom, watched like a create.
type Cloner interface {
	CloneVolumeWatched(ctx context.Context, pool string, s model.VolumeSpec, ci *model.Cipher, fromPool, from string, w model.CreateWatch) (model.Volume, error)
	// CopyDecrypted copies disk from's decrypted data into disk to, each
	// encrypted by librbd with its own secret, inside libvirt (neither
	// passphrase leaves it).
	CopyDecrypted(ctx context.Context, from, to model.DiskSpec, within, interval time.Duration, progress func(done, total uint64)) error
	// ReadVolumeHead reads a volume's first n bytes (a LUKS header).
	ReadVolumeHead(ctx context.Context, pool, vol string, n uint64) ([]byte, error)
}

// CephCloner is what an RBD clone needs of Ceph beyond Ceph (*ceph.Client
// has it).
type CephCloner interface {
	DeepCopyImage(pool, name, toPool, to string) error
	ProtectedSnapshot(pool, image, snap string) (uint64, error)
	RemoveSnapshotIfID(pool, image, snap string, id uint64) error
	CloneFromSnapshot(pool, image, snap, toPool, to string) error
	ImageSize(pool, name string) (uint64, error)
}

// ErrSharedKey marks a clone refused because the copy would open with the
// source's key: two drives never share one silently.
var ErrSharedKey = errors.New("the clone would share the source's key")

// PreparedClone is a checked clone: what is copied where, how, in which
// steps.
type PreparedClone struct {
	Spec model.CloneSpec
	Kind model.CloneKind
	// Source is the volume cloned; SourceSecret its secret (QEMU-layer
	// LUKS), which the clone does not get.
	Source       model.Volume
	SourceSecret string
	// LUKSFormat is a librbd-encrypted source's LUKS version (luks1,
	// luks2): the clone is formatted the same.
	LUKSFormat string
	From, To   model.Pool
	// TargetPath is where the clone will live (file or device path, or
	// cephpool/image): the usage of its own secret.
	TargetPath string
	Warnings   []string
	Plan       []model.Step
}

// Object names the clone in the audit log: pool/name -> pool/to.
func (p PreparedClone) Object() string {
	return p.Spec.Pool + "/" + p.Spec.Name + " -> " + p.Spec.Target() + "/" + p.Spec.To
}

// PrepareClone checks a clone against the host and returns its plan, or
// refuses (audited) saying what is wrong and what would be right.
func PrepareClone(ctx context.Context, d Deps, spec model.CloneSpec) (PreparedClone, error) {
	p, err := prepareClone(ctx, d.withDefaults(), spec)
	if err != nil {
		d.withDefaults().refused("clone drive", p.Object(), err)
	}
	return p, err
}

func prepareClone(ctx context.Context, d Deps, spec model.CloneSpec) (PreparedClone, error) {
	p := PreparedClone{Spec: spec}
	switch {
	case spec.Pool == "" || spec.Name == "":
		return p, fmt.Errorf("clone needs the source drive: --pool and --name")
	case spec.To == "":
		return p, fmt.Errorf("clone needs the new drive's name: --to NEW")
	}
	method, err := model.ParseRBDCloneMethod(string(spec.RBDMethod))
	if err != nil {
		return p, err
	}
	p.Spec.RBDMethod = method
	if p.From, err = activePool(ctx, d, spec.Pool); err != nil {
		return p, err
	}
	if p.To, err = activePool(ctx, d, spec.Target()); err != nil {
		return p, err
	}
	if ok, why := model.CreateAbility(p.To.Type, true); !ok {
		return p, fmt.Errorf("pool %q cannot hold new drives: %s", p.To.Name, why)
	}
	v, err := d.Libvirt.Volume(ctx, spec.Pool, spec.Name)
	if errors.Is(err, model.ErrNotFound) {
		return p, fmt.Errorf("volume %s/%s does not exist on %s", spec.Pool, spec.Name, d.Host)
	}
	if err != nil {
		return p, err
	}
	p.Source = v
	if err := checkCloneTarget(ctx, d, &p); err != nil {
		return p, err
	}
	if err := checkCloneUsers(ctx, d, &p); err != nil {
		return p, err
	}
	if p.From.Type == model.PoolRBD {
		err = prepareRBDClone(ctx, d, &p)
	} else {
		err = prepareVolumeClone(d, &p)
	}
	if err != nil {
		return p, err
	}
	if p.Kind != model.CloneRBDSnapshot {
		// A copy-on-write child takes no space until written.
		warn, err := model.CheckCapacity(v.Capacity, p.To)
		if err != nil {
			return p, err
		}
		if warn != "" {
			p.Warnings = append(p.Warnings, warn)
		}
	}
	p.Plan = model.ClonePlan(p.Kind, spec.To, p.LUKSFormat)
	return p, nil
}

func activePool(ctx context.Context, d Deps, name string) (model.Pool, error) {
	pool, err := d.Libvirt.Pool(ctx, name)
	if errors.Is(err, model.ErrNotFound) {
		return pool, fmt.Errorf("pool %q does not exist on %s (a clone stays on its host: both pools must be on %s)", name, d.Host, d.Host)
	}
	if err != nil {
		return pool, err
	}
	if !pool.Active {
		return pool, fmt.Errorf("pool %q is inactive: start it first (virsh pool-start %s)", pool.Name, pool.Name)
	}
	return pool, nil
}

// checkCloneTarget refuses a name taken in the target pool (never
// overwrite) and pools the clone cannot cross between.
func checkCloneTarget(ctx context.Context, d Deps, p *PreparedClone) error {
	s := p.Spec
	fromRBD, toRBD := p.From.Type == model.PoolRBD, p.To.Type == model.PoolRBD
	switch {
	case fromRBD != toRBD:
		return fmt.Errorf("cannot clone from a %s pool to a %s pool: libvirt copies between file and block pools, and RBD images only within Ceph; pick a target pool of the same kind",
			p.From.Type, p.To.Type)
	case fromRBD && !sameCluster(p.From, p.To):
		return fmt.Errorf("pools %s and %s are on different Ceph clusters (monitors %v and %v): an RBD clone stays within one cluster",
			p.From.Name, p.To.Name, p.From.SourceHosts, p.To.SourceHosts)
	}
	names, err := d.Libvirt.VolumeNames(ctx, p.To.Name)
	if model.IsListLimit(err) {
		_, lookErr := d.Libvirt.Volume(ctx, p.To.Name, s.To)
		switch {
		case lookErr == nil:
			names = append(names, s.To)
		case !errors.Is(lookErr, model.ErrNotFound):
			return lookErr
		}
		err = nil
	}
	if err != nil {
		return err
	}
	if err := model.ValidateDriveName(s.To, p.To.Type, names); err != nil {
		return fmt.Errorf("pool %s: %w: clone to a new name (stowage never overwrites a drive)", p.To.Name, err)
	}
	if toRBD {
		p.TargetPath = p.To.SourceName + "/" + s.To
	} else {
		p.TargetPath = path.Join(p.To.TargetPath, s.To)
	}
	// A secret left with the clone's usage would be taken for the clone's
	// (attach finds RBD secrets by usage): refuse rather than pair them.
	if uuid, ok, err := d.Libvirt.SecretByVolumeUsage(ctx, p.TargetPath); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("secret %s already has the usage %s (left by an earlier drive of that name?): remove it (virsh secret-undefine %s) or pick another name",
			uuid, p.TargetPath, uuid)
	}
	return nil
}

func sameCluster(a, b model.Pool) bool {
	x, y := slices.Clone(a.SourceHosts), slices.Clone(b.SourceHosts)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// checkCloneUsers refuses to copy a drive a running VM writes to: the copy
// reads blocks at different moments while the guest writes, so it is not
// even crash-consistent (virsh vol-clone does it silently). A drive in a
// stopped VM's config is copied, with a note.
func checkCloneUsers(ctx context.Context, d Deps, p *PreparedClone) error {
	ref := driveRef{pool: p.From, vol: p.Source}
	if p.From.Type == model.PoolRBD {
		ref.rbdName = p.From.SourceName + "/" + p.Spec.Name
	}
	users, running, err := usersOf(ctx, d, ref)
	if err != nil {
		return err
	}
	if running {
		return fmt.Errorf("drive %s/%s is attached to a running VM (%v): a copy taken while the guest writes is torn, not even crash-consistent; shut the VM down (or detach the drive) and clone again",
			p.Spec.Pool, p.Spec.Name, users)
	}
	if len(users) > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the source is in the config of %v (not running): copied as it is on disk", users))
	}
	return nil
}

func prepareVolumeClone(d Deps, p *PreparedClone) error {
	v := p.Source
	if _, ok := d.Libvirt.(Cloner); !ok {
		return fmt.Errorf("this connection cannot clone volumes (no virStorageVolCreateXMLFrom)")
	}
	switch {
	case v.Encryption == nil && v.Format == "luks":
		return fmt.Errorf("volume %s/%s is a LUKS image that libvirt describes without <encryption> (no secret is named): stowage cannot give the clone its own key, and a plain copy would share the source's; %w",
			p.Spec.Pool, p.Spec.Name, ErrSharedKey)
	case v.Encryption == nil:
		p.Kind = model.CloneLibvirt
		return nil
	case v.Encryption.Format != "luks" || (v.Encryption.Engine != "" && v.Encryption.Engine != "qemu"):
		return fmt.Errorf("volume %s/%s is encrypted as %s: stowage re-encrypts QEMU-layer LUKS only; %w",
			p.Spec.Pool, p.Spec.Name, v.Encryption.Label(), ErrSharedKey)
	case v.Encryption.SecretUUID == "":
		return fmt.Errorf("volume %s/%s is LUKS-encrypted but names no secret: libvirt cannot decrypt it to copy it", p.Spec.Pool, p.Spec.Name)
	}
	if !model.FilePool(p.To.Type) {
		// Measured on the nested hypervisor: into an LV libvirt 9.0 copies
		// byte for byte (its block copy ignores <encryption>), so the
		// clone keeps the source's LUKS header and key while libvirt's
		// description names the new secret.
		return fmt.Errorf("libvirt copies into a %s pool byte for byte: the clone of LUKS volume %s/%s would keep the source's key while naming a new secret; clone it into a dir, fs or netfs pool (where libvirt re-encrypts with qemu-img): %w",
			p.To.Type, p.Spec.Pool, p.Spec.Name, ErrSharedKey)
	}
	p.Kind, p.SourceSecret = model.CloneQEMULUKS, v.Encryption.SecretUUID
	return nil
}

func prepareRBDClone(ctx context.Context, d Deps, p *PreparedClone) error {
	src := p.From.SourceName + "/" + p.Spec.Name
	secret, encrypted, err := d.Libvirt.SecretByVolumeUsage(ctx, src)
	if err != nil {
		return err
	}
	if encrypted && p.Spec.RBDMethod == model.RBDMethodClone {
		return fmt.Errorf("image %s is encrypted by librbd: a copy-on-write clone reads its parent's LUKS header, so it would open with the source's passphrase; use --rbd-method copy, which re-encrypts it under a new secret: %w", src, ErrSharedKey)
	}
	if d.Ceph == nil {
		return fmt.Errorf("RBD images are cloned through librbd, and this host has no way to reach Ceph: " +
			"set ceph_conf and ceph_keyring for it in config.yaml, or pass --ceph-conf and --ceph-keyring")
	}
	cl, err := d.Ceph(ctx, p.From)
	if err != nil {
		return err
	}
	defer cl.Close()
	hr, okHead := cl.(headReader)
	if _, ok := cl.(CephCloner); !ok || !okHead {
		return fmt.Errorf("this build's Ceph client cannot clone images")
	}
	head, err := hr.ReadImageHead(p.From.SourceName, p.Spec.Name, 8)
	if err != nil {
		return fmt.Errorf("read the head of %s to check for a LUKS header: %w", src, err)
	}
	version := LUKSVersion(head)
	switch {
	case encrypted && version == 0:
		return fmt.Errorf("image %s has a stowage secret (%s) but no LUKS header: stowage cannot tell how to re-encrypt it", src, secret)
	case encrypted:
		if _, ok := d.Libvirt.(Cloner); !ok {
			return fmt.Errorf("this connection cannot copy encrypted images (no helper domain support)")
		}
		p.Kind, p.SourceSecret, p.LUKSFormat = model.CloneLibrbdLUKS, secret, fmt.Sprintf("luks%d", version)
		p.Warnings = append(p.Warnings, "the copy runs in a paused helper domain that libvirt starts and stowage destroys: "+
			"libvirt decrypts the source with its secret and librbd encrypts the clone with the new one, so neither passphrase leaves libvirt")
		return nil
	case version != 0:
		// A LUKS header with no stowage secret (formatted by hand, or
		// QEMU-layer LUKS on RBD): a copy or clone would open with the
		// same key, and stowage has no secret to re-encrypt from.
		return fmt.Errorf("image %s starts with a LUKS%d header but has no stowage secret: a copy or clone would open with the same key; %w", src, version, ErrSharedKey)
	}
	p.Kind = model.CloneRBDCopy
	if p.Spec.RBDMethod == model.RBDMethodClone {
		p.Kind = model.CloneRBDSnapshot
		p.Warnings = append(p.Warnings, fmt.Sprintf("the clone hangs from snapshot %s@%s: the source cannot be deleted while the clone exists (rbd flatten %s detaches it)",
			src, model.CloneSnapshotName(p.Spec.To), p.TargetPath))
	}
	return nil
}
