package libvirtx

import (
	"context"

	"github.com/digitalocean/go-libvirt"
)

// Identity-checked pool actions (package pool's workflows). Each looks
// the pool up by the UUID the admin's action was prepared on, never by
// name, and acts only while that pool still carries the name: a pool
// another admin undefined, or replaced by a new one of the same name,
// after the action was confirmed is left alone (the error wraps
// plan.ErrNotOurs, see onOurPool). PoolStart and friends in poolsetup.go
// act by name, for the setup wizards that just made the pool.

// PoolStartIf starts the pool uuid (virsh pool-start).
func (c *Conn) PoolStartIf(ctx context.Context, name, uuid string) error {
	return c.onOurPool(ctx, "start", name, uuid, func(l *libvirt.Libvirt, h libvirt.StoragePool) error {
		return l.StoragePoolCreate(h, 0)
	})
}

// PoolStopIf stops the pool uuid (virsh pool-destroy): no data is
// deleted; an iscsi pool logs out, a logical pool deactivates its VG.
func (c *Conn) PoolStopIf(ctx context.Context, name, uuid string) error {
	return c.onOurPool(ctx, "stop", name, uuid, func(l *libvirt.Libvirt, h libvirt.StoragePool) error {
		return l.StoragePoolDestroy(h)
	})
}

// PoolRefreshIf rescans the running pool uuid (virsh pool-refresh).
func (c *Conn) PoolRefreshIf(ctx context.Context, name, uuid string) error {
	return c.onOurPool(ctx, "refresh", name, uuid, func(l *libvirt.Libvirt, h libvirt.StoragePool) error {
		return l.StoragePoolRefresh(h, 0)
	})
}

// PoolAutostartIf sets or clears the autostart of the pool uuid (virsh
// pool-autostart [--disable]).
func (c *Conn) PoolAutostartIf(ctx context.Context, name, uuid string, on bool) error {
	v := int32(0)
	if on {
		v = 1
	}
	return c.onOurPool(ctx, "set autostart of", name, uuid, func(l *libvirt.Libvirt, h libvirt.StoragePool) error {
		return l.StoragePoolSetAutostart(h, v)
	})
}

// PoolBuildIf builds the stopped pool uuid (virsh pool-build
// [--overwrite|--no-overwrite]): a dir pool's directory, a logical pool's
// pvcreate and vgcreate, a disk pool's label. overwrite lets libvirt wipe
// what the devices hold; guard (libvirt's NO_OVERWRITE) makes it refuse
// a device that carries any signature. Neither: libvirt's default, the
// only one a dir pool takes (NO_OVERWRITE wants a source device).
func (c *Conn) PoolBuildIf(ctx context.Context, name, uuid string, overwrite, guard bool) error {
	var flags libvirt.StoragePoolBuildFlags
	switch {
	case overwrite:
		flags = libvirt.StoragePoolBuildOverwrite
	case guard:
		flags = libvirt.StoragePoolBuildNoOverwrite
	}
	return c.onOurPool(ctx, "build", name, uuid, func(l *libvirt.Libvirt, h libvirt.StoragePool) error {
		return l.StoragePoolBuild(h, flags)
	})
}

// PoolDeleteIf runs the backend's own delete on the stopped pool uuid
// (virsh pool-delete): a dir pool's rmdir, a logical pool's vgremove -f
// and pvremove on its devices.
func (c *Conn) PoolDeleteIf(ctx context.Context, name, uuid string) error {
	return c.onOurPool(ctx, "delete the storage of", name, uuid, func(l *libvirt.Libvirt, h libvirt.StoragePool) error {
		return l.StoragePoolDelete(h, libvirt.StoragePoolDeleteNormal)
	})
}

// PoolUndefineIf removes the stopped pool uuid's definition (virsh
// pool-undefine); its storage stays.
func (c *Conn) PoolUndefineIf(ctx context.Context, name, uuid string) error {
	return c.onOurPool(ctx, "undefine", name, uuid, func(l *libvirt.Libvirt, h libvirt.StoragePool) error {
		return l.StoragePoolUndefine(h)
	})
}

// PoolDefineXMLDesc returns the persistent (inactive) XML of the pool
// uuid, for an undefine to name how to define it again.
func (c *Conn) PoolDefineXMLDesc(ctx context.Context, name, uuid string) (string, error) {
	var doc string
	err := c.onOurPool(ctx, "read the definition of", name, uuid, func(l *libvirt.Libvirt, h libvirt.StoragePool) error {
		var err error
		doc, err = l.StoragePoolGetXMLDesc(h, libvirt.StorageXMLInactive)
		return err
	})
	return doc, err
}
