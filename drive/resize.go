package drive

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"stowage/model"
)

// Resizer is what a resize needs of a host beyond Libvirt; *libvirtx.Conn
// has it (see libvirtx/volresize.go for what each call measured to do).
type Resizer interface {
	ResizeVolume(ctx context.Context, pool, name string, capacity uint64, shrink bool, within time.Duration,
		retried func(attempt, of int, brief string, cause error)) error
	BlockResize(ctx context.Context, vm, target string, size uint64, within time.Duration) error
	BlockCapacity(ctx context.Context, vm, target string) (uint64, error)
}

// ResizeSpec is what an admin asks: the drive, the size the guest is to
// see, and for a shrink the typed confirmation.
type ResizeSpec struct {
	Pool, Name string
	Size       model.SizeChange
	Shrink     bool
	Confirm    string
	// Encryption is luks1 or luks2 for a librbd-encrypted image whose
	// header stowage cannot read (no Ceph access), as for attach.
	Encryption model.DriveEncryption
}

// Opener is a running VM that has the drive open: a resize goes through
// its QEMU.
type Opener struct {
	Host, VM, Target string
	// Engine is the disk's encryption engine: qemu, librbd, or "" (plain).
	Engine string
	lv     Libvirt
}

// ResizeTarget is a drive as a resize sees it.
type ResizeTarget struct {
	Host   string
	Pool   model.Pool
	Volume model.Volume
	// Encryption is "" (plain), "luks" (QEMU layer: libvirt's capacity is
	// the payload) or "luks1"/"luks2" (librbd: the image holds Header
	// bytes more than the guest sees).
	Encryption string
	Header     uint64
	// GuestSize is what a guest sees now.
	GuestSize uint64
	// Open are the running VMs that have it open; ConfigOnly the VM
	// configs that name it without a running QEMU holding it.
	Open       []Opener
	ConfigOnly []string
}

// Encrypted reports whether the drive is LUKS, by either engine.
func (t ResizeTarget) Encrypted() bool { return t.Encryption != "" }

// ResizePrepared is a checked resize, with its plan.
type ResizePrepared struct {
	Target ResizeTarget
	Spec   ResizeSpec
	// To is the size the guest will see; Capacity what libvirt will report.
	To, Capacity uint64
	Notes        []string
	Plan         []model.Step
}

// InspectResize reads the drive: pool, volume, encryption, the size the
// guest sees, and which VMs on which connected hosts have it (live or in
// their config). The console shows it before the admin types a size.
func InspectResize(ctx context.Context, d Deps, pool, name string, given model.DriveEncryption) (ResizeTarget, error) {
	d = d.withDefaults()
	t := ResizeTarget{Host: d.Host}
	p, err := d.Libvirt.Pool(ctx, pool)
	if errors.Is(err, model.ErrNotFound) {
		return t, fmt.Errorf("pool %q does not exist on %s", pool, d.Host)
	}
	if err != nil {
		return t, err
	}
	if !p.Active {
		return t, fmt.Errorf("pool %q is inactive: start it first (virsh pool-start %s)", pool, pool)
	}
	t.Pool = p
	if ok, why := model.ResizeAbility(p.Type); !ok {
		return t, fmt.Errorf("cannot resize %s/%s: %s", pool, name, why)
	}
	v, err := d.Libvirt.Volume(ctx, pool, name)
	if errors.Is(err, model.ErrNotFound) {
		return t, fmt.Errorf("volume %s/%s does not exist on %s", pool, name, d.Host)
	}
	if err != nil {
		return t, err
	}
	t.Volume = v
	ref := driveRef{pool: p, vol: v}
	if p.Type == model.PoolRBD {
		ref.rbdName = p.SourceName + "/" + name
		if t.Encryption, err = rbdEncryption(ctx, d, p, name, ref.rbdName, given); err != nil {
			return t, err
		}
		switch t.Encryption {
		case "luks1":
			t.Header = model.LUKS1HeaderBytes
		case "luks2":
			t.Header = model.LUKS2HeaderBytes
		}
	} else if v.Encryption != nil {
		t.Encryption = "luks"
	}
	if v.Capacity < t.Header {
		return t, fmt.Errorf("image %s is %d bytes, smaller than its %s header: it is damaged or not what it seems; check it with `rbd info %s`",
			ref.rbdName, v.Capacity, t.Encryption, commandQuote(ref.rbdName))
	}
	t.GuestSize = v.Capacity - t.Header
	uses, err := usesOf(ctx, d, ref)
	if err != nil {
		return t, err
	}
	live := map[string]bool{}
	for _, u := range uses {
		if u.live && u.state != "shut-off" {
			engine := ""
			if u.disk.Encryption != nil {
				engine = u.disk.Encryption.Engine
				if engine == "" {
					engine = "qemu"
				}
			}
			t.Open = append(t.Open, Opener{Host: u.host.name, VM: u.vm, Target: u.disk.Target, Engine: engine, lv: u.host.lv})
			live[u.host.name+"\x00"+u.vm] = true
		}
	}
	for _, u := range uses {
		if !u.live && !live[u.host.name+"\x00"+u.vm] {
			t.ConfigOnly = append(t.ConfigOnly, u.String())
		}
	}
	return t, nil
}

// rbdEncryption is "" for a plain image, else its librbd LUKS version:
// an image with a stowage secret (usage cephpool/image) or a LUKS header.
func rbdEncryption(ctx context.Context, d Deps, p model.Pool, name, usage string, given model.DriveEncryption) (string, error) {
	_, ok, err := d.Libvirt.SecretByVolumeUsage(ctx, usage)
	if err != nil {
		return "", err
	}
	if !ok {
		// No secret of ours: still never take someone's LUKS image for a
		// plain one when the header can be read.
		if v := readLUKSVersion(ctx, d, p, name); v != 0 {
			return fmt.Sprintf("luks%d", v), nil
		}
		return "", nil
	}
	enc, err := rbdLUKSVersion(ctx, d, p, name, given)
	if err != nil {
		return "", err
	}
	return string(enc), nil
}

// readLUKSVersion reads an image's LUKS version through Ceph; 0 when not
// LUKS or not readable.
func readLUKSVersion(ctx context.Context, d Deps, p model.Pool, name string) int {
	if d.Ceph == nil {
		return 0
	}
	cl, err := d.Ceph(ctx, p)
	if err != nil {
		return 0
	}
	defer cl.Close()
	hr, ok := cl.(headReader)
	if !ok {
		return 0
	}
	head, err := hr.ReadImageHead(p.SourceName, name, 8)
	if err != nil {
		return 0
	}
	return LUKSVersion(head)
}

// Sector is the unit every size must be a multiple of: qemu-img and
// QEMU's LUKS driver work in 512-byte sectors.
const Sector = 512

// Check validates a size change against the drive, as the console does
// while the admin types, and returns the size the guest will see. It
// refuses: no change; a size that is not whole sectors; any shrink of a
// LUKS drive; a shrink without --shrink or with a confirmation that is
// not the drive's name; a shrink under a running VM; a drive open in
// more than one running VM.
func (t ResizeTarget) Check(c model.SizeChange, shrink bool, confirm string) (uint64, error) {
	name := t.Volume.Name
	to, err := c.Target(t.GuestSize)
	if err != nil {
		return 0, err
	}
	if to%Sector != 0 {
		return 0, fmt.Errorf("size %d bytes is not a whole number of 512-byte sectors: give e.g. %s or %d bytes",
			to, model.IBytes((to/Sector+1)*Sector), (to/Sector+1)*Sector)
	}
	if to == t.GuestSize {
		return 0, fmt.Errorf("drive %s is %s already: nothing to change", name, model.IBytes(to))
	}
	if to > ^uint64(0)-t.Header {
		return 0, fmt.Errorf("size %d plus the %d-byte LUKS header overflows 64 bits", to, t.Header)
	}
	if len(t.Open) > 1 {
		var vms []string
		for _, o := range t.Open {
			vms = append(vms, o.Host+" "+o.VM+":"+o.Target)
		}
		return 0, fmt.Errorf("drive %s is open in %d running VMs (%s): a resize through one QEMU leaves the others with a disk of the old size; stop or detach all but one, then try again",
			name, len(t.Open), strings.Join(vms, ", "))
	}
	if to > t.GuestSize {
		return to, nil
	}
	switch {
	case t.Encrypted():
		return 0, fmt.Errorf("drive %s is LUKS-encrypted (%s): stowage never shrinks an encrypted drive. "+
			"The end of the payload would be cut under the guest's filesystem, and inside LUKS no tool of the host can check what is lost; "+
			"grow only, or make a new smaller drive and copy the data inside the guest", name, t.Encryption)
	case !shrink:
		return 0, fmt.Errorf("%s would shrink drive %s from %s: shrinking cuts off the end of the disk and the data there. "+
			"If the guest's filesystem is already smaller, pass --shrink --confirm %s (plain drives only)",
			model.IBytes(to), name, model.IBytes(t.GuestSize), name)
	case confirm != name:
		return 0, fmt.Errorf("shrink confirmation %q is not the drive's name: repeat the name (--confirm %s) to shrink it", confirm, name)
	case len(t.Open) > 0:
		o := t.Open[0]
		return 0, fmt.Errorf("drive %s is open in running VM %s (%s:%s): shrinking under a running guest corrupts its filesystem; stop the VM or detach the drive first",
			name, o.VM, o.Host, o.Target)
	}
	return to, nil
}

// how says through what the resize goes, for the plan's title.
func (t ResizeTarget) how() string {
	if len(t.Open) == 1 {
		o := t.Open[0]
		return fmt.Sprintf("live, through QEMU of running VM %s as %s", o.VM, o.Target)
	}
	switch {
	case t.Encryption == "luks":
		return "libvirt: qemu-img resizes the LUKS payload with the volume's secret"
	case t.Header > 0:
		return fmt.Sprintf("libvirt: image sized payload + %s %s header", model.IBytes(t.Header), t.Encryption)
	}
	return "libvirt"
}

// PrepareResize reads the drive and checks the change; a refusal, and a
// check that could not be made, are audited.
func PrepareResize(ctx context.Context, d Deps, s ResizeSpec) (ResizePrepared, error) {
	p, err := prepareResize(ctx, d, s)
	if err != nil {
		d.withDefaults().refused("resize drive", s.Pool+"/"+s.Name, err)
	}
	return p, err
}

func prepareResize(ctx context.Context, d Deps, s ResizeSpec) (ResizePrepared, error) {
	p := ResizePrepared{Spec: s}
	if s.Size.Bytes == 0 {
		return p, fmt.Errorf("no size given: give the new size the guest is to see (20G) or a growth (+5G)")
	}
	t, err := InspectResize(ctx, d, s.Pool, s.Name, s.Encryption)
	if err != nil {
		return p, err
	}
	p.Target = t
	if p.To, err = t.Check(s.Size, s.Shrink, s.Confirm); err != nil {
		return p, err
	}
	p.Capacity = p.To + t.Header
	if t.Header > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("the %s image becomes %s: %s for the guest plus the %s LUKS header",
			t.Encryption, model.IBytes(p.Capacity), model.IBytes(p.To), model.IBytes(t.Header)))
	}
	for _, c := range t.ConfigOnly {
		p.Notes = append(p.Notes, fmt.Sprintf("%s names it in its config only: that VM sees the new size at its next start", c))
	}
	if len(t.Open) == 0 && len(t.ConfigOnly) == 0 {
		p.Notes = append(p.Notes, "no VM uses it")
	}
	p.Plan = model.ResizePlan(s.Pool+"/"+s.Name, t.GuestSize, p.To, t.how())
	return p, nil
}
