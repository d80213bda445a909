package iscsi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"stowage/libvirtx"
)

// Teardown undoes a finished LVM-on-iSCSI setup: it stops and deletes the
// logical pool's VG (vgremove, then pvremove on its LUNs, so no signature
// is left), undefines that pool, then stops and undefines the iscsi pool
// (logging the host out) and removes its stowage CHAP secret. It destroys
// every drive in the VG: callers confirm first.
func Teardown(ctx context.Context, h Host, logicalPool, iscsiPool string) error {
	var errs []error
	if logicalPool != "" {
		errs = append(errs, removeLogical(ctx, h, logicalPool))
	}
	if iscsiPool != "" {
		errs = append(errs, removeISCSI(ctx, h, iscsiPool))
	}
	return errors.Join(errs...)
}

func poolActive(ctx context.Context, h Host, name string) (exists, active bool, err error) {
	pools, err := h.Pools(ctx)
	if err != nil {
		return false, false, err
	}
	for _, p := range pools {
		if p.Name == name {
			return true, p.Active, nil
		}
	}
	return false, false, nil
}

// stopPool stops a pool if it runs and returns its source; exists is false
// (and nothing done) when the pool is already gone.
func stopPool(ctx context.Context, h Host, name string) (src libvirtx.PoolSource, exists bool, err error) {
	exists, active, err := poolActive(ctx, h, name)
	if err != nil || !exists {
		return src, exists, err
	}
	if src, err = h.PoolSourceOf(ctx, name); err != nil {
		return src, true, err
	}
	if active {
		err = h.PoolStop(ctx, name)
	}
	return src, true, err
}

func removeLogical(ctx context.Context, h Host, name string) error {
	src, exists, err := stopPool(ctx, h, name)
	if err != nil || !exists {
		return err
	}
	// pool-delete pvremoves the pool's <device>s: name them as LVM does now.
	vgs, err := h.VolumeGroups(ctx)
	if err != nil {
		return err
	}
	for _, vg := range vgs {
		if vg.Name != src.Name {
			continue
		}
		err := redefine(ctx, h, libvirtx.LogicalPoolSpec{Name: name, VG: vg.Name, Devices: vg.Devices}, func(ctx context.Context) error {
			return h.PoolDeleteData(ctx, name)
		})
		if err != nil {
			return fmt.Errorf("delete VG %s: %w", vg.Name, err)
		}
	}
	return h.PoolUndefine(ctx, name)
}

func removeISCSI(ctx context.Context, h Host, name string) error {
	src, exists, err := stopPool(ctx, h, name)
	if err != nil || !exists {
		return err
	}
	if err := h.PoolUndefine(ctx, name); err != nil {
		return err
	}
	// Only secrets stowage made (its usage prefix) go with the pool.
	if src.AuthUsage != "" && strings.HasPrefix(src.AuthUsage, SecretUsage("")) {
		if err := h.RemoveCHAPSecret(ctx, src.AuthUsage); err != nil && !libvirtx.IsNotFound(err) {
			return err
		}
	}
	return nil
}
