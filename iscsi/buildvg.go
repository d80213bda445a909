package iscsi

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"stowage/libvirtx"
	"stowage/model"
)

// BuildVG defines, builds, starts and autostarts the logical pool over the
// chosen LUNs. Re-run over a half-finished setup, it continues: a pool or
// VG that already matches the request is reused, not rebuilt.
func (s *Setup) BuildVG(ctx context.Context) error {
	r := s.req
	if s.iscsiPool == "" {
		return fmt.Errorf("connect the target first")
	}
	if err := ValidateVGName(r.VG); err != nil {
		return err
	}
	if err := ValidatePoolName(r.Pool); err != nil {
		return err
	}
	chosen := sortedUnique(r.LUNs)
	if len(chosen) == 0 {
		return fmt.Errorf("choose at least one LUN")
	}
	// The LUNs again, fresh: the SAN may have changed since they were listed.
	if err := s.h.RefreshPool(ctx, s.iscsiPool); err != nil {
		return err
	}
	pools, err := s.h.Pools(ctx)
	if err != nil {
		return err
	}
	luns, err := s.listLUNs(ctx, pools)
	if err != nil {
		return err
	}
	var picked []model.LUN
	for _, n := range chosen {
		i := slices.IndexFunc(luns, func(l model.LUN) bool { return l.Number == n })
		if i < 0 {
			return fmt.Errorf("LUN %d is not (or no longer) on target %s: it was removed on the SAN or never existed; LUNs now: %s",
				n, r.Target, LUNsSummary(lunNumbers(luns)))
		}
		picked = append(picked, luns[i])
	}
	devices := make([]string, len(picked))
	for i, l := range picked {
		devices[i] = l.Path
	}

	existing, err := s.matchLogicalPool(ctx, pools, devices)
	if err != nil {
		return err
	}
	vgExists, err := s.checkVG(ctx, picked)
	if err != nil {
		return err
	}
	overwrite := false
	if !vgExists {
		if overwrite, err = s.checkOverwrite(picked); err != nil {
			return err
		}
	}
	name := r.Pool
	if existing == nil {
		doc, err := libvirtx.LogicalPoolXML(libvirtx.LogicalPoolSpec{Name: name, VG: r.VG, Devices: devices})
		if err != nil {
			return err
		}
		if err := s.step(ctx, "define logical pool "+name+" (VG "+r.VG+")", "virsh pool-define "+name+".xml", doc,
			func(ctx context.Context) error { return s.h.PoolDefine(ctx, doc) },
			&undoStep{"undefine logical pool " + name, "virsh pool-undefine " + name, func(ctx context.Context) error { return s.h.PoolUndefine(ctx, name) }}); err != nil {
			return err
		}
	} else {
		s.existed("logical pool "+name, "already defined over these LUNs; reused")
	}
	if !vgExists {
		flag := "--no-overwrite"
		if overwrite {
			flag = "--overwrite"
		}
		// Undo: pool-delete runs vgremove and pvremove on the pool's
		// devices, so the definition must name them again first.
		undoBuild := func(ctx context.Context) error {
			return redefine(ctx, s.h, libvirtx.LogicalPoolSpec{Name: name, VG: r.VG, Devices: devices}, func(ctx context.Context) error {
				return s.h.PoolDeleteData(ctx, name)
			})
		}
		err := s.step(ctx, fmt.Sprintf("build VG %s on LUN %s (pvcreate, vgcreate)", r.VG, LUNsSummary(chosen)), "virsh pool-build "+flag+" "+name, "",
			func(ctx context.Context) error { return s.h.PoolBuild(ctx, name, overwrite) },
			&undoStep{"remove VG " + r.VG + " and its PV labels", "virsh pool-define (with devices); virsh pool-delete " + name, undoBuild})
		if err != nil {
			for _, l := range picked {
				if strings.Contains(err.Error(), l.Path) && !holdsData(err) {
					return fmt.Errorf("LUN %d failed during the build: was it removed or shrunk on the SAN since it was listed? %w", l.Number, err)
				}
			}
			if !overwrite && holdsData(err) {
				return fmt.Errorf("%w\na chosen LUN holds data (a partition table, file system or other signature): confirm overwriting it by typing the new VG name (--confirm-overwrite %s)", err, r.VG)
			}
			return err
		}
	} else {
		s.existed("volume group "+r.VG, "already on exactly these LUNs; not rebuilt")
	}
	// libvirt starts a logical pool only when its <device> paths equal, as
	// strings, the names pvs prints (/dev/sdX), which by-path names never
	// do, and /dev/sdX is not stable across reboots. The persistent
	// definition therefore names only the VG: libvirt then matches on the
	// VG name (storage_backend_logical.c), which is stable.
	if existing == nil || len(existing.Devices) > 0 {
		vgOnly, err := libvirtx.LogicalPoolXML(libvirtx.LogicalPoolSpec{Name: name, VG: r.VG})
		if err != nil {
			return err
		}
		if err := s.step(ctx, "redefine logical pool "+name+" by VG name only", "virsh pool-define "+name+".xml", vgOnly,
			func(ctx context.Context) error {
				return redefine(ctx, s.h, libvirtx.LogicalPoolSpec{Name: name, VG: r.VG}, nil)
			}, nil); err != nil {
			return err
		}
	}
	if existing == nil || !existing.Active {
		if err := s.step(ctx, "start logical pool "+name, "virsh pool-start "+name, "",
			func(ctx context.Context) error { return s.h.PoolStart(ctx, name) },
			&undoStep{"stop logical pool " + name, "virsh pool-destroy " + name, func(ctx context.Context) error { return s.h.PoolStop(ctx, name) }}); err != nil {
			return err
		}
	}
	if existing == nil || !existing.Autostart {
		return s.autostart(ctx, "logical", name, existing != nil)
	}
	return nil
}

// autostart turns a pool's autostart on as a step. A pool this run defined
// goes away on rollback anyway; one that existed gets autostart off again.
func (s *Setup) autostart(ctx context.Context, kind, name string, existed bool) error {
	var undo *undoStep
	if existed {
		undo = &undoStep{"autostart off for " + name, "virsh pool-autostart --disable " + name,
			func(ctx context.Context) error { return s.h.PoolAutostart(ctx, name, false) }}
	}
	return s.step(ctx, "autostart "+kind+" pool "+name, "virsh pool-autostart "+name, "",
		func(ctx context.Context) error { return s.h.PoolAutostart(ctx, name, true) }, undo)
}

// redefine replaces a logical pool's definition, keeping its UUID, then
// runs then (when set).
func redefine(ctx context.Context, h Host, spec libvirtx.LogicalPoolSpec, then func(context.Context) error) error {
	src, err := h.PoolSourceOf(ctx, spec.Name)
	if err != nil {
		return err
	}
	spec.UUID = src.UUID
	doc, err := libvirtx.LogicalPoolXML(spec)
	if err != nil {
		return err
	}
	if err := h.PoolDefine(ctx, doc); err != nil {
		return err
	}
	if then == nil {
		return nil
	}
	return then(ctx)
}

// foundPool is a pool the host already has, with its source devices.
type foundPool struct {
	model.Pool
	Devices []string
}

// holdsData recognises libvirt's refusal to build over a device that
// carries a signature (pool-build --no-overwrite).
func holdsData(err error) bool {
	m := err.Error()
	return strings.Contains(m, "already formatted") || strings.Contains(m, "signature") || strings.Contains(m, "Format of device")
}

func lunNumbers(luns []model.LUN) []int {
	out := make([]int, len(luns))
	for i, l := range luns {
		out[i] = l.Number
	}
	return out
}

// matchLogicalPool finds a pool named like the request. It is reused when
// it is a logical pool of the same VG over the same devices (a setup that
// stopped half-way); any other pool of that name is a conflict.
func (s *Setup) matchLogicalPool(ctx context.Context, pools []model.Pool, devices []string) (*foundPool, error) {
	for _, p := range pools {
		if p.Name != s.req.Pool {
			continue
		}
		if p.Type != model.PoolLogical {
			return nil, fmt.Errorf("pool name %q is taken by a %s pool; choose another name", p.Name, p.Type)
		}
		src, err := s.h.PoolSourceOf(ctx, p.Name)
		if err != nil {
			return nil, err
		}
		if src.Name != s.req.VG || len(src.Devices) > 0 && !sameSet(src.Devices, devices) {
			return nil, fmt.Errorf("pool name %q is taken by logical pool over VG %q on %v; choose another name", p.Name, src.Name, src.Devices)
		}
		return &foundPool{Pool: p, Devices: src.Devices}, nil
	}
	// A pool of another name over the same VG would be a second view of it.
	for _, p := range pools {
		if p.Type != model.PoolLogical {
			continue
		}
		src, err := s.h.PoolSourceOf(ctx, p.Name)
		if err != nil {
			return nil, err
		}
		if src.Name == s.req.VG {
			return nil, fmt.Errorf("VG %q already has a libvirt pool, %q; use that pool, or choose another VG name", s.req.VG, p.Name)
		}
	}
	return nil, nil
}

// checkVG reports whether the requested VG already exists on exactly the
// chosen LUNs (continue without building); a VG of that name anywhere else
// is a conflict.
func (s *Setup) checkVG(ctx context.Context, picked []model.LUN) (bool, error) {
	vgs, err := s.h.VolumeGroups(ctx)
	if err != nil {
		return false, err
	}
	for _, vg := range vgs {
		if vg.Name != s.req.VG {
			continue
		}
		on := 0
		for _, l := range s.luns {
			if l.VG == vg.Name {
				on++
			}
		}
		all := true
		for _, l := range picked {
			all = all && l.VG == vg.Name
		}
		if all && on == len(picked) && len(vg.Devices) == len(picked) {
			return true, nil
		}
		return false, fmt.Errorf("a volume group named %q already exists on this host (on %v); choose another VG name", vg.Name, vg.Devices)
	}
	return false, nil
}

// checkOverwrite refuses LUNs that hold data unless the admin confirmed by
// typing the name of the VG on them (or, for other signatures, the new VG's
// name). LUNs of an active libvirt pool are refused outright.
func (s *Setup) checkOverwrite(picked []model.LUN) (bool, error) {
	var oldVGs []string
	other := false
	for _, l := range picked {
		if l.Pool != "" {
			return false, fmt.Errorf("LUN %d belongs to libvirt pool %q (VG %q): stop and remove that pool first; stowage does not take disks from a pool", l.Number, l.Pool, l.VG)
		}
		switch {
		case l.VG != "":
			if !slices.Contains(oldVGs, l.VG) {
				oldVGs = append(oldVGs, l.VG)
			}
		case l.Content != "":
			other = true
		}
	}
	switch {
	case len(oldVGs) > 1:
		return false, fmt.Errorf("the chosen LUNs hold several volume groups (%v); overwrite one at a time", oldVGs)
	case len(oldVGs) == 1:
		if s.req.ConfirmOverwrite != oldVGs[0] {
			return false, fmt.Errorf("LUN %s holds volume group %q: building would destroy it; confirm by typing that VG name (--confirm-overwrite %s)",
				LUNsSummary(lunsWithVG(picked, oldVGs[0])), oldVGs[0], oldVGs[0])
		}
		return true, nil
	case other && s.req.ConfirmOverwrite != s.req.VG:
		return false, fmt.Errorf("a chosen LUN holds data (a partition table or another signature): confirm overwriting by typing the new VG name (--confirm-overwrite %s)", s.req.VG)
	}
	// Typing the new VG's name confirms overwriting signatures libvirt
	// finds only when it builds (it refuses with --no-overwrite).
	return s.req.ConfirmOverwrite == s.req.VG, nil
}

func lunsWithVG(luns []model.LUN, vg string) []int {
	var out []int
	for _, l := range luns {
		if l.VG == vg {
			out = append(out, l.Number)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
