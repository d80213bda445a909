package drive

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"stowage/model"
	"stowage/plan"
)

// Prepared is a validated drive spec with everything the workflow and the
// preview need: the pool, the cipher, the guest target, the plan.
type Prepared struct {
	Spec     model.DriveSpec
	Pool     model.Pool
	Cipher   *model.Cipher
	Target   string
	Warnings []string
	Plan     []model.Step
	// VolumePath is where the volume will live (file or device path, or
	// cephpool/image on rbd); also the secret's usage id.
	VolumePath string
	// LiveEngine is the encryption engine of the live disk: librbd, or
	// qemu when the admin chose the QEMU-layer hot-plug fallback.
	LiveEngine string
}

// ErrNeedsChoice is returned when a librbd-encrypted disk is to be
// hot-plugged on a libvirt that cannot do it: the admin must choose
// FallbackNextStart or FallbackQEMU (never chosen silently).
var ErrNeedsChoice = errors.New("librbd-encrypted disks cannot be hot-plugged on this libvirt")

// HotplugChoices explains the two ways out, for the CLI and the wizard.
func HotplugChoices(format string) string {
	s := "choose one:\n" +
		"  next-start: attach to the persistent config now; the disk appears, decrypted by librbd, at the VM's next start\n"
	if format == "luks2" {
		return s + "  (qemu: not possible for LUKS2: QEMU's own LUKS driver reads LUKS1 only; pick luks1 for a live attach)"
	}
	return s + "  qemu: attach live now with QEMU-layer decryption (" + model.QEMULayerCost + "); the persistent config keeps librbd"
}

// Prepare validates spec against the host: pool active and able to create
// drives, name valid and unique, size and format, encryption for the pool
// type, capacity, the VM and its state. Every refusal says what is wrong.
// A refusal is appended to the audit log (the admin asked for something
// stowage will not do), as is a check that could not be made.
func Prepare(ctx context.Context, d Deps, spec model.DriveSpec) (Prepared, error) {
	p, err := prepare(ctx, d, spec)
	if err != nil {
		d.withDefaults().refused("create drive", spec.Pool+"/"+spec.Name, err)
	}
	return p, err
}

// refused audits a workflow that did not start: "refused" when stowage
// declined, "failed" when a host did not answer the checks.
func (d Deps) refused(action, object string, err error) {
	r := d.runner(nil)
	if errors.Is(err, model.ErrTimeout) {
		r.Record(action, object, plan.ResultFailed, err, 0)
		return
	}
	_ = r.Refuse(action, object, err)
}

func prepare(ctx context.Context, d Deps, spec model.DriveSpec) (Prepared, error) {
	d = d.withDefaults()
	p := Prepared{Spec: spec}
	pool, err := d.Libvirt.Pool(ctx, spec.Pool)
	if errors.Is(err, model.ErrNotFound) {
		return p, fmt.Errorf("pool %q does not exist on %s", spec.Pool, d.Host)
	}
	if err != nil {
		return p, err
	}
	p.Pool = pool
	s := &p.Spec
	s.PoolType = pool.Type
	if !pool.Active {
		return p, fmt.Errorf("pool %q is inactive: start it first (virsh pool-start %s)", pool.Name, pool.Name)
	}
	if ok, why := model.CreateAbility(pool.Type, true); !ok {
		return p, fmt.Errorf("pool %q cannot hold new drives: %s", pool.Name, why)
	}
	names, err := d.Libvirt.VolumeNames(ctx, pool.Name)
	if model.IsListLimit(err) {
		// A pool too large for libvirt to list: ask for this one name.
		_, lookErr := d.Libvirt.Volume(ctx, pool.Name, s.Name)
		switch {
		case lookErr == nil:
			names = append(names, s.Name)
		case !errors.Is(lookErr, model.ErrNotFound):
			return p, lookErr
		}
		err = nil
	}
	if err != nil {
		return p, err
	}
	if err := model.ValidateDriveName(s.Name, pool.Type, names); err != nil {
		return p, fmt.Errorf("pool %s: %w", pool.Name, err)
	}
	if s.Size == 0 {
		return p, fmt.Errorf("size is zero: give a size such as 10G")
	}
	if s.Format, err = model.ValidateFormat(s.Format, pool.Type); err != nil {
		return p, err
	}
	if s.Encryption, err = model.ValidateEncryption(s.Encryption, pool.Type); err != nil {
		return p, err
	}
	if s.Cipher != "" && (!s.Encrypted() || pool.Type == model.PoolRBD) {
		return p, fmt.Errorf("--cipher applies to QEMU-layer LUKS only (librbd always uses AES-256)")
	}
	if p.Cipher, err = model.ParseCipher(s.Cipher); err != nil {
		return p, err
	}
	alloc, err := s.AllocatedSize()
	if err != nil {
		return p, err
	}
	warn, err := model.CheckCapacity(alloc, pool)
	if err != nil {
		return p, err
	}
	if warn != "" {
		p.Warnings = append(p.Warnings, warn)
	}
	if pool.Type == model.PoolRBD {
		p.VolumePath = pool.SourceName + "/" + s.Name
		if s.Encrypted() && d.Ceph == nil {
			return p, fmt.Errorf("encrypted RBD drives are formatted by librbd, and this host has no way to reach Ceph: " +
				"set ceph_conf and ceph_keyring for it in config.yaml, or pass --ceph-conf and --ceph-keyring")
		}
		if s.Encrypted() {
			// Fail before anything is made when Ceph is out of reach.
			cl, err := d.Ceph(ctx, pool)
			if err != nil {
				return p, err
			}
			cl.Close()
		}
	} else {
		p.VolumePath = path.Join(pool.TargetPath, s.Name)
	}
	if s.AttachVM != "" {
		if err := prepareAttach(ctx, d, &p); err != nil {
			return p, err
		}
	} else {
		s.Attach = model.AttachMode{}
	}
	p.Plan = model.CreatePlan(*s)
	return p, nil
}

func prepareAttach(ctx context.Context, d Deps, p *Prepared) error {
	s := &p.Spec
	if !s.Attach.Live && !s.Attach.Persistent {
		// An admin who names a VM and nothing else means "now and for
		// good": both, as virsh attach-disk --live --config.
		s.Attach = model.AttachMode{Live: true, Persistent: true}
	}
	dom, err := d.Libvirt.Domain(ctx, s.AttachVM, false)
	if errors.Is(err, model.ErrNotFound) {
		return fmt.Errorf("VM %q does not exist on %s", s.AttachVM, d.Host)
	}
	if err != nil {
		return err
	}
	if s.Attach.Live && dom.State != "running" {
		return fmt.Errorf("VM %q is %s: a live attach needs it running (attach with --persistent only, or start it)", s.AttachVM, dom.State)
	}
	if s.Attach.Persistent && !dom.Persistent {
		return fmt.Errorf("VM %q is transient: it has no persistent config to attach to (use --live only)", s.AttachVM)
	}
	used := targets(dom)
	if dom.Persistent {
		cfg, err := d.Libvirt.Domain(ctx, s.AttachVM, true)
		if err != nil {
			return err
		}
		used = append(used, targets(cfg)...)
	}
	p.Target = model.NextFreeTarget(used)
	p.LiveEngine = "qemu"
	if s.LibrbdFormat() == "" || !s.Attach.Live {
		return nil
	}
	p.LiveEngine = "librbd"
	switch s.Fallback {
	case model.FallbackNextStart:
		s.Attach = model.AttachMode{Persistent: true}
		p.Warnings = append(p.Warnings, "the disk is attached to the persistent config only and appears at the VM's next start")
		if !dom.Persistent {
			return fmt.Errorf("VM %q is transient: next-start needs a persistent config", s.AttachVM)
		}
		return nil
	case model.FallbackQEMU:
		if s.LibrbdFormat() == "luks2" {
			return fmt.Errorf("%w; the qemu fallback is not possible for LUKS2 (QEMU's LUKS driver reads LUKS1 only): use next-start, or luks1", ErrNeedsChoice)
		}
		p.LiveEngine = "qemu"
		p.Warnings = append(p.Warnings, "live disk decrypted by QEMU: "+model.QEMULayerCost)
		return nil
	}
	lib, _, err := d.Libvirt.Versions(ctx)
	if err != nil {
		return err
	}
	if model.LibrbdHotplugBroken(lib) {
		return fmt.Errorf("%w (libvirt %s fails with \"No secret with id '…-format-encryption-secret0'\"); %s",
			ErrNeedsChoice, lib, HotplugChoices(s.LibrbdFormat()))
	}
	return nil
}

func targets(dom model.Domain) []string {
	var out []string
	for _, k := range dom.Disks {
		out = append(out, k.Target)
	}
	return out
}

// DiskSpec is the <disk> a prepared drive attaches with; engine is
// "librbd" or "qemu" (RBD), ignored elsewhere.
func (p Prepared) DiskSpec(secretUUID, engine string) model.DiskSpec {
	s := p.Spec
	k := model.DiskSpec{Target: p.Target, Format: s.Format}
	if s.PoolType == model.PoolRBD {
		k.RBD, k.Monitors = p.VolumePath, p.Pool.SourceHosts
		k.AuthUser, k.AuthSecretUUID = p.Pool.AuthUser, p.Pool.AuthSecretUUID
	} else {
		k.Path = p.VolumePath
		k.Block = !model.FilePool(s.PoolType)
	}
	if s.Encrypted() {
		e := &model.Encryption{Format: "luks", SecretUUID: secretUUID}
		if s.PoolType == model.PoolRBD && engine == "librbd" {
			e.Format, e.Engine = s.DiskEncryptionFormat(), "librbd"
		}
		k.Encryption = e
	}
	return k
}

func commandQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " '\"$`\\;&|<>*?()[]{}!#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
