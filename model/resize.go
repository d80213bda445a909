package model

import (
	"fmt"
	"strings"
)

// The steps of a drive resize.
const (
	// StepResize changes the size: through QEMU when a running VM has the
	// drive open, else through libvirt's storage driver. Irreversible.
	StepResize StepID = "resize"
	// StepResizeRefresh rescans the pool so that libvirt's capacity
	// agrees with what was done (a resize through QEMU bypasses it).
	StepResizeRefresh StepID = "resize-refresh"
	// StepResizeVerify reads the sizes back: libvirt's, and the VM's.
	StepResizeVerify StepID = "resize-verify"
)

// SizeChange is the size an admin asked for: absolute ("20G") or a
// growth relative to what the guest sees now ("+5G").
type SizeChange struct {
	Bytes    uint64
	Relative bool
}

// ParseSizeChange parses "20G" (absolute) or "+5G" (grow by). A leading
// "-" is refused: a shrink names the size it ends at.
func ParseSizeChange(s string) (SizeChange, error) {
	in := strings.TrimSpace(s)
	if strings.HasPrefix(in, "-") {
		return SizeChange{}, fmt.Errorf("size %q: a relative size only grows (+5G); to shrink a plain drive give the new absolute size with --shrink --confirm NAME", s)
	}
	rel := strings.HasPrefix(in, "+")
	n, err := ParseSize(strings.TrimPrefix(in, "+"))
	if err != nil {
		return SizeChange{}, err
	}
	return SizeChange{Bytes: n, Relative: rel}, nil
}

// Target is the size the guest is to see, from what it sees now.
func (c SizeChange) Target(current uint64) (uint64, error) {
	if !c.Relative {
		return c.Bytes, nil
	}
	if current > ^uint64(0)-c.Bytes {
		return 0, fmt.Errorf("%s plus %s overflows 64 bits", IBytes(current), IBytes(c.Bytes))
	}
	return current + c.Bytes, nil
}

// String is the change as an admin typed it, normalised.
func (c SizeChange) String() string {
	if c.Relative {
		return "+" + IBytes(c.Bytes)
	}
	return IBytes(c.Bytes)
}

// ResizePlan lists the steps of a resize of name from one guest size to
// another; how says through what (QEMU of VM x, libvirt, …).
func ResizePlan(name string, from, to uint64, how string) []Step {
	verb := "grow"
	if to < from {
		verb = "shrink"
	}
	return []Step{
		{ID: StepResize, Title: fmt.Sprintf("%s %s from %s to %s (%s; cannot be undone)", verb, name, IBytes(from), IBytes(to), how), Irreversible: true},
		{ID: StepResizeRefresh, Title: "refresh the pool"},
		{ID: StepResizeVerify, Title: "verify the sizes"},
	}
}

// ResizeAbility says whether libvirt can resize a volume of a pool type,
// and if not why and what an admin does instead. From libvirt's storage
// backends: only those with a resizeVol (dir, fs, netfs; rbd; gluster,
// sheepdog, vstorage) can; the logical backend has none (no lvresize),
// disk partitions are not resized, and LUNs are sized on the SAN.
func ResizeAbility(t PoolType) (ok bool, why string) {
	switch t {
	case PoolDir, PoolFS, PoolNetFS, PoolRBD, PoolGluster, PoolSheepdog, PoolVstorage:
		return true, ""
	case PoolLogical:
		return false, "libvirt's logical backend cannot resize a volume (it has no lvresize). On the host run " +
			"`lvextend -L +SIZE VG/LV` (a QEMU-layer LUKS header stays at the front, so the payload grows by SIZE), " +
			"then `virsh pool-refresh POOL`, and for a running VM that has it open `virsh blockresize VM DEV NEWSIZE`"
	case PoolDisk:
		return false, "libvirt cannot resize a partition of a disk pool: grow it with parted on the host, or make a new drive and copy"
	case PoolISCSI, PoolISCSIDirect, PoolSCSI, PoolMpath:
		return false, "a LUN is sized on the SAN, not by libvirt: grow it there, then refresh the pool"
	}
	return false, fmt.Sprintf("libvirt cannot resize volumes of %s pools", t)
}
