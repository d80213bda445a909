package libvirtx

import (
	"context"
	"fmt"
	"time"

	"github.com/digitalocean/go-libvirt"
)

// Resizing, as measured on libvirt 9.0 with QEMU 7.2:
//   - A QEMU-layer LUKS volume's capacity is its payload: libvirt resizes
//     it with `qemu-img resize --image-opts driver=luks,…` and the volume's
//     secret, so the file grows by the asked size plus the header (2 MiB
//     with libvirt's defaults), and vol-info reports the payload.
//   - That qemu-img cannot open a file a running QEMU holds ("Failed to get
//     "write" lock"); a raw plain file libvirt truncates itself, behind
//     QEMU's back. A drive open in a VM is therefore resized through QEMU
//     (DomainBlockResize), whose size is also what the guest sees.
//   - rbd volumes are resized by rbd_resize on the image as stored (no
//     encryption loaded): a librbd-LUKS image's capacity includes its
//     header.

// ResizeVolume sets a volume's capacity (bytes; payload for QEMU-layer
// LUKS) through libvirt. shrink allows a smaller size (libvirt refuses
// one without it). within bounds the call: qemu-img unlocks a LUKS
// keyslot first (a PBKDF, seconds). A failure on QEMU's LUKS benchmark
// is tried again as creation is (retried is told; nil: not told).
func (c *Conn) ResizeVolume(ctx context.Context, pool, name string, capacity uint64, shrink bool, within time.Duration,
	retried func(attempt, of int, brief string, cause error)) error {
	ph, err := c.lookupPool(ctx, pool)
	if err != nil {
		return err
	}
	if within < c.timeout {
		within = c.timeout
	}
	var flags libvirt.StorageVolResizeFlags
	if shrink {
		flags |= libvirt.StorageVolResizeShrink
	}
	what := fmt.Sprintf("resize volume %s/%s to %d bytes", pool, name, capacity)
	attempt := func() (struct{}, error) {
		return struct{}{}, c.doWithin(ctx, what, within, func(l *libvirt.Libvirt) error {
			h, err := l.StorageVolLookupByName(ph, name)
			if err != nil {
				return err
			}
			return l.StorageVolResize(h, capacity, flags)
		})
	}
	var r Retried
	if retried != nil {
		r = func(attempt, of int, cause error) { retried(attempt, of, BriefCause(cause), cause) }
	}
	_, err = luksRetry(ctx, pool+"/"+name, LUKSBenchmarkAttempts, jitteredPause, r, attempt)
	return err
}

// BlockResize resizes disk target of a running VM through QEMU
// (virDomainBlockResize, in bytes): the guest sees size at once. For a
// QEMU-layer LUKS disk size is the payload (QEMU's luks driver adds its
// header below).
func (c *Conn) BlockResize(ctx context.Context, vm, target string, size uint64, within time.Duration) error {
	if within < c.timeout {
		within = c.timeout
	}
	return c.doWithin(ctx, fmt.Sprintf("resize disk %s of VM %q to %d bytes", target, vm, size), within, func(l *libvirt.Libvirt) error {
		d, err := l.DomainLookupByName(vm)
		if err != nil {
			return err
		}
		return l.DomainBlockResize(d, target, size, libvirt.DomainBlockResizeBytes)
	})
}

// BlockCapacity is the size of disk target as the running VM sees it
// (`virsh domblkinfo`'s Capacity).
func (c *Conn) BlockCapacity(ctx context.Context, vm, target string) (uint64, error) {
	return call(ctx, c, fmt.Sprintf("read the size of disk %s of VM %q", target, vm), func(l *libvirt.Libvirt) (uint64, error) {
		d, err := l.DomainLookupByName(vm)
		if err != nil {
			return 0, err
		}
		_, capacity, _, err := l.DomainGetBlockInfo(d, target, 0)
		return capacity, err
	})
}

// doWithin is do with a bound of its own instead of the connection's
// timeout, for calls that run a tool (qemu-img) on the host.
func (c *Conn) doWithin(ctx context.Context, what string, within time.Duration, fn func(*libvirt.Libvirt) error) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	l, sock, err := c.live(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return bounded(ctx, c, sock, what, within, func() error { return fn(l) })
}
