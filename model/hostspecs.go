package model

import (
	"fmt"
	"time"
)

// What the workflows ask a hypervisor to make, as plain specs: a backend
// (libvirtx) renders them as XML, never its callers.

// VolumeSpec is a volume to create in a pool.
type VolumeSpec struct {
	Name     string
	Capacity uint64
	// Format is raw or qcow2 on file pools; empty for the pool's default.
	Format string
	// Encryption, when set, asks libvirt to format QEMU-layer LUKS with
	// the given secret (file, logical and disk pools).
	Encryption *Encryption
	// Allocation is what libvirt allocates up front; 0 leaves files
	// sparse. On a logical pool an allocation below the capacity makes
	// libvirt create a sparse snapshot LV (lvcreate --type snapshot
	// --virtualsize) whose small exception store fills as data is written,
	// and then every write fails: set it to the capacity there
	// (FullAllocation).
	Allocation uint64
}

// FullAllocation reports whether volumes of a pool type must be
// allocated whole (see VolumeSpec.Allocation): LVs and partitions.
func FullAllocation(t PoolType) bool { return t == PoolLogical || t == PoolDisk }

// CreateWatch bounds and reports one watched volume creation.
type CreateWatch struct {
	// Within is the hard bound of one attempt, after which the connection
	// is closed (volume creation outlives the per-call timeout: qemu-img's
	// LUKS key derivation alone takes seconds).
	Within time.Duration
	// Interval is how often the new volume's allocation is polled while
	// the host works; Progress receives it (nil: no polling).
	Interval time.Duration
	Progress func(allocation, capacity uint64)
	// Retried is told of each attempt that failed on a transient cause
	// (QEMU's LUKS benchmark) and is made again: attempt is the one that
	// failed (1-based) of the bound, brief names the cause in a few words
	// for a progress line. Nil: retried quietly.
	Retried func(attempt, of int, brief string, cause error)
}

// DiskSpec is a disk to attach: a file or block volume, or an RBD image.
type DiskSpec struct {
	// Target is the guest device (vdb); the bus is always virtio.
	Target string
	// Format is the driver type: raw or qcow2.
	Format string
	// Path is the file or block device (file and block pools).
	Path string
	// Block is true for LVs and partitions (logical and disk pools).
	Block bool
	// RBD is pool/image; Monitors are "host" or "host:port"; AuthUser and
	// AuthSecretUUID are the pool's cephx <auth>.
	RBD            string
	Monitors       []string
	AuthUser       string
	AuthSecretUUID string
	// Encryption, when set, goes inside <source>. Engine "librbd" makes
	// librbd decrypt (RBD only); "" or "qemu" QEMU's block layer.
	Encryption *Encryption
}

// DetachResult says what a detach achieved.
type DetachResult struct {
	// LivePending is true when the guest has not yet released a
	// hot-unplugged disk: libvirt sent the ACPI eject request, the guest OS
	// must acknowledge it. The disk goes when it does, or at the next stop.
	LivePending bool
}

// LibrbdHotplugBroken reports whether a libvirt version is known to fail
// hot-plugging librbd-encrypted disks ("No secret with id
// '…-format-encryption-secret0'"). Verified on 9.0.0; releases up to 9.x
// are assumed to share the bug, later ones are tried and the error still
// detected.
func LibrbdHotplugBroken(libvirtVersion string) bool {
	var maj, min int
	if _, err := fmt.Sscanf(libvirtVersion, "%d.%d", &maj, &min); err != nil {
		return true
	}
	return maj < 10
}
