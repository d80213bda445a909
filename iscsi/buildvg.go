package iscsi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"stowage/model"
	"stowage/plan"
)

// probed is what a probe of the chosen LUNs found, with what BuildVG needs.
type probed struct {
	pools    []model.Pool
	picked   []model.LUN
	findings Findings
}

// Probe reads the chosen LUNs afresh and reports what they hold: libvirt's
// view (VG membership, partition tables) and the signatures in their first
// ProbeBytes (file systems, LUKS, swap … that libvirt cannot see). It
// refuses (ErrRefused, audited) a LUN that is gone, belongs to a libvirt
// pool, or that a VM on a connected host uses as a disk. Nothing changes.
func (s *Setup) Probe(ctx context.Context, luns []int) (Findings, error) {
	p, err := s.probe(ctx, sortedUnique(luns), true)
	if err != nil {
		return Findings{}, err
	}
	return p.findings, nil
}

func (s *Setup) probe(ctx context.Context, chosen []int, refuseUsed bool) (probed, error) {
	var p probed
	if s.iscsiPool == "" {
		return p, fmt.Errorf("connect the target first")
	}
	if len(chosen) == 0 {
		return p, refusal(fmt.Errorf("choose at least one LUN"))
	}
	// The LUNs again, fresh: the SAN may have changed since they were listed.
	if err := s.h.RefreshPool(ctx, s.iscsiPool); err != nil {
		return p, err
	}
	var err error
	if p.pools, err = s.h.Pools(ctx); err != nil {
		return p, err
	}
	luns, err := s.listLUNs(ctx, p.pools)
	if err != nil {
		return p, err
	}
	object := fmt.Sprintf("%s LUN %s", s.req.Target, LUNsSummary(chosen))
	for _, n := range chosen {
		i := slices.IndexFunc(luns, func(l model.LUN) bool { return l.Number == n })
		if i < 0 {
			return p, s.refuse("build VG", object, fmt.Errorf("LUN %d is not (or no longer) on target %s: it was removed on the SAN or never existed; LUNs now: %s",
				n, s.req.Target, LUNsSummary(lunNumbers(luns))))
		}
		p.picked = append(p.picked, luns[i])
	}
	if refuseUsed {
		for _, l := range p.picked {
			// The pool being resumed (same name and VG) is not another pool.
			if l.Pool != "" && (l.Pool != s.req.Pool || l.VG != s.req.VG) {
				return p, s.refuse("build VG", object, fmt.Errorf("LUN %d belongs to libvirt pool %q (VG %q): stop and remove that pool first; stowage does not take disks from a pool", l.Number, l.Pool, l.VG))
			}
		}
		if err := s.refuseDisksInUse(ctx, p.picked, object); err != nil {
			return p, err
		}
	}
	if p.findings, err = s.findingsOf(ctx, p.picked); err != nil {
		return p, err
	}
	s.findings = &p.findings
	return p, nil
}

// findingsOf reads the head of each LUN and merges libvirt's view.
func (s *Setup) findingsOf(ctx context.Context, picked []model.LUN) (Findings, error) {
	f := Findings{Target: s.req.Target}
	for _, l := range picked {
		head, err := s.h.ReadVolumeHead(ctx, s.iscsiPool, l.Volume, ProbeBytes)
		if err != nil {
			return f, fmt.Errorf("read the first %d KiB of LUN %d to see what it holds: %w", ProbeBytes/1024, l.Number, err)
		}
		lf := LUNFindings{Number: l.Number, Path: l.Path, Capacity: l.Capacity, Read: len(head), Signatures: DetectSignatures(head)}
		if vg := s.pvOf[l.Number]; vg != "" {
			lf.Signatures = append([]Signature{{Kind: "volume group", Detail: vg}}, lf.Signatures...)
		}
		if l.Content != "" && len(lf.Signatures) == 0 {
			lf.Signatures = append(lf.Signatures, Signature{Kind: l.Content, Detail: "found by libvirt"})
		}
		f.LUNs = append(f.LUNs, lf)
	}
	return f, nil
}

// refuseDisksInUse refuses a LUN that a VM on this host or on another
// connected host has as a disk: by path (by-path or /dev/sdX), by pool
// volume, or as a network iscsi disk of the same target and LUN.
func (s *Setup) refuseDisksInUse(ctx context.Context, picked []model.LUN, object string) error {
	hosts := append([]OtherHost{{URI: s.Runner.Host, Host: s.h}}, s.Others...)
	for hi, oh := range hosts {
		where := "this host"
		if hi > 0 {
			where = "connected host " + oh.URI
		}
		if oh.Host == nil {
			return s.refuse("build VG", object, fmt.Errorf("cannot check that no VM on %s uses LUN %s (%v): wait until it is back, or close it in the console, then try again",
				where, LUNsSummary(lunNumbers(picked)), oh.Err))
		}
		doms, err := oh.Host.Domains(ctx)
		if err != nil {
			return fmt.Errorf("list VMs on %s to check that none uses the chosen LUNs: %w", where, err)
		}
		for _, d := range doms {
			for _, k := range d.Disks {
				for _, l := range picked {
					if s.diskIsLUN(ctx, oh.Host, hi == 0, k, l) {
						return s.refuse("build VG", object, fmt.Errorf("LUN %d is disk %s of VM %q on %s: building a VG would destroy it; detach it first",
							l.Number, k.Target, d.Name, where))
					}
				}
			}
		}
	}
	return nil
}

func (s *Setup) diskIsLUN(ctx context.Context, h DiskUser, local bool, k model.Disk, l model.LUN) bool {
	switch k.SourceType {
	case "block", "file":
		if k.Source == l.Path {
			return true
		}
		if !local || k.Source == "" {
			return false
		}
		pool, vol, err := h.VolumeByPath(ctx, k.Source)
		return err == nil && pool == s.iscsiPool && vol == l.Volume
	case "volume":
		return local && k.Pool == s.iscsiPool && k.Volume == l.Volume
	case "network":
		return k.Source == fmt.Sprintf("iscsi:%s/%d", s.req.Target, l.Number)
	}
	return false
}

// BuildVG defines, builds, starts and autostarts the logical pool over the
// chosen LUNs. Every check comes first; a check that fails changes nothing
// and is marked ErrRefused (phase 1 stays). Re-run over a half-finished
// setup, it continues: a pool or VG that already matches the request is
// reused, not rebuilt (and never undone).
func (s *Setup) BuildVG(ctx context.Context) error {
	r := s.req
	if s.iscsiPool == "" {
		return fmt.Errorf("connect the target first")
	}
	if err := s.validateChoice(); err != nil {
		return refusal(err)
	}
	chosen := sortedUnique(r.LUNs)
	p, err := s.probe(ctx, chosen, true)
	if err != nil {
		return err
	}
	devices := make([]string, len(p.picked))
	for i, l := range p.picked {
		devices[i] = l.Path
	}
	existing, err := s.matchLogicalPool(ctx, p.pools, devices)
	if err != nil {
		return err
	}
	vgExists, err := s.checkVG(ctx, p.picked)
	if err != nil {
		return err
	}
	overwrite := false
	if !vgExists {
		if overwrite, err = s.checkOverwrite(p.findings, chosen); err != nil {
			return err
		}
	}
	name := r.Pool
	uuid := ""
	var acts []plan.Action
	if existing == nil {
		spec := model.LogicalPoolSpec{Name: name, VG: r.VG, Devices: devices}
		doc, err := logicalPoolXML(spec)
		if err != nil {
			return err
		}
		acts = append(acts, s.action(StepDefineLogical, "define logical pool "+name+" (VG "+r.VG+")", "virsh pool-define "+name+".xml", doc,
			"define logical pool", "pool "+name, func(ctx context.Context) (plan.Made, error) {
				u, err := s.h.DefineLogicalPool(ctx, spec)
				if err != nil {
					return plan.Made{}, err
				}
				uuid = u
				return s.poolMade("logical pool "+name, name, u, model.PoolActUndefine, "virsh pool-undefine "+name), nil
			}))
	} else {
		uuid = existing.UUID
		s.existed("logical pool "+name, "already defined over these LUNs; reused")
	}
	if !vgExists {
		flag := "--no-overwrite"
		if overwrite {
			flag = "--overwrite"
		}
		acts = append(acts, s.action(StepBuildVG, fmt.Sprintf("build VG %s on LUN %s (pvcreate, vgcreate)", r.VG, LUNsSummary(chosen)), "virsh pool-build "+flag+" "+name, "",
			"build VG "+r.VG, fmt.Sprintf("%s LUN %s", r.Target, LUNsSummary(chosen)), func(ctx context.Context) (plan.Made, error) {
				if err := s.recheck(ctx, chosen, p.findings); err != nil {
					return plan.Made{}, err
				}
				// Only the pool this run defined (or found) is built: the
				// UUID is checked in the same sequence of calls.
				act := model.PoolActBuild
				if overwrite {
					act = model.PoolActBuildOverwrite
				}
				if err := s.h.PoolIf(ctx, name, act, notOurs("pool "+name, uuid)); err != nil {
					return plan.Made{}, s.explainBuild(err, p.picked, overwrite)
				}
				return plan.Made{What: fmt.Sprintf("VG %s on LUN %s", r.VG, LUNsSummary(chosen)), Identity: uuid + " VG " + r.VG,
					Command: fmt.Sprintf("virsh pool-delete %s (after redefining it with its <device>s), or: vgremove %s; pvremove %s", name, r.VG, strings.Join(devices, " ")),
					Undo:    func(ctx context.Context) error { return s.undoBuild(ctx, name, uuid, devices) }}, nil
			}))
	} else {
		s.existed("volume group "+r.VG, "already on exactly these LUNs; not rebuilt")
	}
	// libvirt starts a logical pool only when its <device> paths equal, as
	// strings, the names pvs prints (/dev/sdX), which by-path names never
	// do, and /dev/sdX is not stable across reboots. The persistent
	// definition therefore names only the VG: libvirt then matches on the
	// VG name (storage_backend_logical.c), which is stable.
	if existing == nil || len(existing.Devices) > 0 {
		vgOnly, err := logicalPoolXML(model.LogicalPoolSpec{Name: name, VG: r.VG})
		if err != nil {
			return err
		}
		acts = append(acts, s.action(StepRedefineLogical, "redefine logical pool "+name+" by VG name only", "virsh pool-define "+name+".xml", vgOnly,
			"redefine logical pool", "pool "+name, func(ctx context.Context) (plan.Made, error) {
				if err := s.ours(ctx, name, uuid); err != nil {
					return plan.Made{}, err
				}
				return plan.Made{}, redefine(ctx, s.h, model.LogicalPoolSpec{Name: name, VG: r.VG}, nil)
			}))
	}
	if existing == nil || !existing.Active {
		acts = append(acts, s.action(StepStartLogical, "start logical pool "+name, "virsh pool-start "+name, "",
			"start logical pool", "pool "+name, func(ctx context.Context) (plan.Made, error) {
				if err := s.h.PoolIf(ctx, name, model.PoolActStart, notOurs("pool "+name, uuid)); err != nil {
					return plan.Made{}, err
				}
				return s.poolMade("logical pool "+name+" (active)", name, uuid, model.PoolActStop, "virsh pool-destroy "+name), nil
			}))
	}
	if existing == nil || !existing.Autostart {
		acts = append(acts, s.autostart(StepAutostartLogical, "logical", name, existing != nil, func() string { return uuid }))
	}
	return s.runPlan(ctx, acts, nil)
}

// recheck probes the chosen LUNs again right before the destructive build
// and refuses when what they hold is not what was confirmed.
func (s *Setup) recheck(ctx context.Context, chosen []int, confirmed Findings) error {
	now, err := s.probe(ctx, chosen, false)
	if err != nil {
		return err
	}
	if now.findings.Token() != confirmed.Token() {
		return s.refuse("build VG", fmt.Sprintf("%s LUN %s", s.req.Target, LUNsSummary(chosen)), fmt.Errorf(
			"what the chosen LUNs hold changed since it was checked; nothing was overwritten. Now:\n  %s",
			strings.Join(now.findings.Lines(), "\n  ")))
	}
	return nil
}

// ours fails (ErrNotOurs) unless the pool called name has uuid.
func (s *Setup) ours(ctx context.Context, name, uuid string) error {
	got, ok, err := s.h.PoolUUID(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("pool %s is gone: %w", name, plan.ErrNotOurs)
	}
	return notOurs("pool "+name, uuid)(got)
}

// undoBuild removes the VG this run built: only while the logical pool
// still has this run's UUID and the VG still sits on exactly the chosen
// LUNs. pool-delete runs vgremove and pvremove on the pool's devices, so
// the definition names them again first (keeping its UUID).
func (s *Setup) undoBuild(ctx context.Context, name, uuid string, devices []string) error {
	if err := s.ours(ctx, name, uuid); err != nil {
		return err
	}
	vgs, err := s.h.VolumeGroups(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(vgs, func(v model.VolumeGroup) bool { return v.Name == s.req.VG })
	if i < 0 {
		return nil // gone already
	}
	if len(vgs[i].Devices) != len(devices) {
		return fmt.Errorf("VG %s now spans %v, not the %d LUN(s) this run built it on: %w", s.req.VG, vgs[i].Devices, len(devices), plan.ErrNotOurs)
	}
	for _, d := range vgs[i].Devices {
		pool, _, err := s.h.VolumeByPath(ctx, d)
		if err != nil || pool != s.iscsiPool {
			return fmt.Errorf("VG %s has PV %s, not a LUN of %s: %w", s.req.VG, d, s.iscsiPool, plan.ErrNotOurs)
		}
	}
	return redefine(ctx, s.h, model.LogicalPoolSpec{Name: name, VG: s.req.VG, Devices: devices}, func(ctx context.Context) error {
		return s.h.PoolIf(ctx, name, model.PoolActDeleteData, notOurs("pool "+name, uuid))
	})
}

func (s *Setup) explainBuild(err error, picked []model.LUN, overwrite bool) error {
	for _, l := range picked {
		if strings.Contains(err.Error(), l.Path) && !holdsData(err) {
			return fmt.Errorf("LUN %d failed during the build: was it removed or shrunk on the SAN since it was listed? %w", l.Number, err)
		}
	}
	if !overwrite && holdsData(err) {
		return fmt.Errorf("%w\nlibvirt found a signature on a chosen LUN beyond what stowage's probe saw in the first %d KiB; nothing was overwritten: inspect the LUN (wipefs -n, blkid -p) before using it",
			err, ProbeBytes/1024)
	}
	return err
}

// redefine replaces a logical pool's definition, keeping its UUID, then
// runs then (when set).
func redefine(ctx context.Context, h Host, spec model.LogicalPoolSpec, then func(context.Context) error) error {
	src, err := h.PoolSourceOf(ctx, spec.Name)
	if err != nil {
		return err
	}
	spec.UUID = src.UUID
	if _, err := h.DefineLogicalPool(ctx, spec); err != nil {
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
	UUID    string
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

// precheckNames refuses, before phase 1, pool and VG names that the host's
// pools already take (the checks that need no LUN paths).
func (s *Setup) precheckNames(ctx context.Context) error {
	pools, err := s.h.Pools(ctx)
	if err != nil {
		return err
	}
	_, err = s.matchLogicalPool(ctx, pools, nil)
	return err
}

// matchLogicalPool finds a pool named like the request. It is reused when
// it is a logical pool of the same VG over the same devices (a setup that
// stopped half-way); any other pool of that name is a conflict. devices
// nil skips the device comparison (checks before the LUNs are known).
func (s *Setup) matchLogicalPool(ctx context.Context, pools []model.Pool, devices []string) (*foundPool, error) {
	object := "pool " + s.req.Pool
	for _, p := range pools {
		if p.Name != s.req.Pool {
			continue
		}
		if p.Type != model.PoolLogical {
			return nil, s.refuse("define logical pool", object, fmt.Errorf("pool name %q is taken by a %s pool; choose another name", p.Name, p.Type))
		}
		src, err := s.h.PoolSourceOf(ctx, p.Name)
		if err != nil {
			return nil, err
		}
		if src.Name != s.req.VG || devices != nil && len(src.Devices) > 0 && !sameSet(src.Devices, devices) {
			return nil, s.refuse("define logical pool", object, fmt.Errorf("pool name %q is taken by logical pool over VG %q on %v; choose another name", p.Name, src.Name, src.Devices))
		}
		return &foundPool{Pool: p, UUID: src.UUID, Devices: src.Devices}, nil
	}
	// A pool of another name over the same VG would be a second view of it.
	for _, p := range pools {
		if p.Type != model.PoolLogical {
			continue
		}
		src, err := s.h.PoolSourceOf(ctx, p.Name)
		if errors.Is(err, model.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if src.Name == s.req.VG {
			return nil, s.refuse("define logical pool", object, fmt.Errorf("VG %q already has a libvirt pool, %q; use that pool, or choose another VG name", s.req.VG, p.Name))
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
		return false, s.refuse("build VG", "VG "+vg.Name, fmt.Errorf("a volume group named %q already exists on this host (on %v); choose another VG name", vg.Name, vg.Devices))
	}
	return false, nil
}

// checkOverwrite decides whether the build may overwrite: only when the
// probe found something and the confirmation is the token of exactly
// those findings. A confirmation given when nothing was found is refused
// too: it was meant for other data than what is there.
func (s *Setup) checkOverwrite(f Findings, chosen []int) (bool, error) {
	object := fmt.Sprintf("%s LUN %s", s.req.Target, LUNsSummary(chosen))
	token, given := f.Token(), s.req.ConfirmOverwrite
	switch {
	case token == "" && given == "":
		return false, nil
	case token == "":
		return false, s.refuse("overwrite LUN data", object, fmt.Errorf(
			"an overwrite confirmation (%q) was given, but this run found no signature on LUN %s:\n  %s\nstowage accepts a confirmation only for what it found; run again without one",
			given, LUNsSummary(chosen), strings.Join(f.Lines(), "\n  ")))
	case given == token:
		return true, nil
	}
	why := "the chosen LUNs hold data that building a VG would destroy"
	if given != "" {
		why = fmt.Sprintf("the confirmation %q does not match what this run found on the chosen LUNs", given)
	}
	return false, s.refuse("overwrite LUN data", object, fmt.Errorf(
		"%s:\n  %s\nto destroy it, confirm with the token bound to exactly these findings: %s (--confirm-overwrite %s)",
		why, strings.Join(f.Lines(), "\n  "), token, token))
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
