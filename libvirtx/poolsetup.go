package libvirtx

import (
	"context"
	"fmt"

	"github.com/digitalocean/go-libvirt"
)

// Pool lifecycle: what a setup wizard needs to create pools and undo them.
// Each maps to one libvirt call (and one virsh command, named in the doc).

// withPool looks a pool up by name and runs fn on it.
func (c *Conn) withPool(ctx context.Context, what, name string, fn func(*libvirt.Libvirt, libvirt.StoragePool) error) error {
	ph, err := c.lookupPool(ctx, name)
	if err != nil {
		return err
	}
	return c.do(ctx, fmt.Sprintf("%s pool %q", what, name), func(l *libvirt.Libvirt) error {
		return fn(l, ph)
	})
}

// PoolStart starts a pool (virsh pool-start). For an iscsi pool this logs
// in to the target; for a logical pool it activates the VG.
func (c *Conn) PoolStart(ctx context.Context, name string) error {
	return c.withPool(ctx, "start", name, func(l *libvirt.Libvirt, p libvirt.StoragePool) error {
		return l.StoragePoolCreate(p, 0)
	})
}

// PoolBuild builds a pool (virsh pool-build [--overwrite|--no-overwrite]).
// For a logical pool: pvcreate on each source device and vgcreate. Without
// overwrite libvirt refuses devices that carry any signature.
func (c *Conn) PoolBuild(ctx context.Context, name string, overwrite bool) error {
	flags := libvirt.StoragePoolBuildNoOverwrite
	if overwrite {
		flags = libvirt.StoragePoolBuildOverwrite
	}
	return c.withPool(ctx, "build", name, func(l *libvirt.Libvirt, p libvirt.StoragePool) error {
		return l.StoragePoolBuild(p, flags)
	})
}

// PoolAutostart sets or clears a pool's autostart (virsh pool-autostart).
func (c *Conn) PoolAutostart(ctx context.Context, name string, on bool) error {
	v := int32(0)
	if on {
		v = 1
	}
	return c.withPool(ctx, "set autostart of", name, func(l *libvirt.Libvirt, p libvirt.StoragePool) error {
		return l.StoragePoolSetAutostart(p, v)
	})
}

// PoolStop stops a pool (virsh pool-destroy): nothing is deleted; an iscsi
// pool logs out, a logical pool deactivates its VG.
func (c *Conn) PoolStop(ctx context.Context, name string) error {
	return c.withPool(ctx, "stop", name, func(l *libvirt.Libvirt, p libvirt.StoragePool) error {
		return l.StoragePoolDestroy(p)
	})
}

// PoolDeleteData deletes what building made (virsh pool-delete): for a
// logical pool, vgremove and pvremove on its devices. The pool must be
// stopped.
func (c *Conn) PoolDeleteData(ctx context.Context, name string) error {
	return c.withPool(ctx, "delete the data of", name, func(l *libvirt.Libvirt, p libvirt.StoragePool) error {
		return l.StoragePoolDelete(p, libvirt.StoragePoolDeleteNormal)
	})
}

// PoolUndefine removes a stopped pool's definition (virsh pool-undefine).
func (c *Conn) PoolUndefine(ctx context.Context, name string) error {
	return c.withPool(ctx, "undefine", name, func(l *libvirt.Libvirt, p libvirt.StoragePool) error {
		return l.StoragePoolUndefine(p)
	})
}

// PoolXMLDesc returns a pool's XML description (virsh pool-dumpxml).
func (c *Conn) PoolXMLDesc(ctx context.Context, name string) (string, error) {
	ph, err := c.lookupPool(ctx, name)
	if err != nil {
		return "", err
	}
	return call(ctx, c, fmt.Sprintf("read XML of pool %q", name), func(l *libvirt.Libvirt) (string, error) {
		return l.StoragePoolGetXMLDesc(ph, 0)
	})
}
