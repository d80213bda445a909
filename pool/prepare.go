package pool

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"stowage/model"
)

// Prepare reads the pool and checks the action against it and against
// every VM that may use it. A refusal is audited and wraps ErrRefused;
// nothing is changed either way. The returned Prepared records the pool's
// UUID: Run acts on that pool only.
func Prepare(ctx context.Context, d Deps, s Spec) (Prepared, error) {
	r := d.runner(nil)
	object := "pool " + s.Pool
	audit := "pool " + s.Verb()
	if d.ReadOnly {
		return Prepared{}, r.Refuse(audit, object, refusal("--readonly: pool %s changes the host; run stowage without --readonly", s.Verb()))
	}
	if s.Pool == "" {
		return Prepared{}, r.Refuse(audit, object, refusal("which pool? give its name (--name)"))
	}
	p, err := d.Libvirt.Pool(ctx, s.Pool)
	if errors.Is(err, model.ErrNotFound) {
		return Prepared{}, r.Refuse(audit, object, refusal("host %s has no pool %q (stowage inventory lists them)", d.Host, s.Pool))
	}
	if err != nil {
		return Prepared{}, fmt.Errorf("read pool %q on %s: %w", s.Pool, d.Host, err)
	}
	pr, err := check(ctx, d, s, p)
	if err != nil {
		if errors.Is(err, ErrRefused) {
			return Prepared{}, r.Refuse(audit, object, err)
		}
		return Prepared{}, err
	}
	return pr, nil
}

// check applies the rules (doc.go) to pool p as it is now, and plans the
// steps. Run calls it again on the pool as it is when the admin has
// confirmed: a VM started in between is caught.
func check(ctx context.Context, d Deps, s Spec, p model.Pool) (Prepared, error) {
	pr := Prepared{Spec: s, Host: d.Host, Pool: p}
	step := func(id model.StepID, title string) { pr.Steps = append(pr.Steps, model.Step{ID: id, Title: title}) }
	name := p.Name
	cmd := func(verb string) string { return fmt.Sprintf("stowage pool %s --uri %s --name %s", verb, d.Host, name) }
	switch s.Action {
	case Start:
		if p.Active {
			pr.Already = fmt.Sprintf("pool %s is already running: nothing to do", name)
			return pr, nil
		}
		step(StepStart, "start pool "+name)
	case Stop:
		if !p.Active {
			pr.Already = fmt.Sprintf("pool %s is already stopped: nothing to do", name)
			return pr, nil
		}
		if err := stopRules(ctx, d, p, &pr); err != nil {
			return Prepared{}, err
		}
		step(StepStop, "stop pool "+name+" (pool-destroy: no data is deleted)")
	case Refresh:
		if !p.Active {
			return Prepared{}, refusal("pool %s is stopped: libvirt rescans only a running pool; start it first (%s)", name, cmd("start"))
		}
		step(StepRefresh, "rescan pool "+name+" (pool-refresh)")
	case Autostart:
		if p.Autostart == !s.Off {
			pr.Already = fmt.Sprintf("autostart of pool %s is already %s: nothing to do", name, onOff(!s.Off))
			return pr, nil
		}
		if !p.Persistent {
			return Prepared{}, refusal("pool %s is transient (no definition kept by libvirt): it has no autostart", name)
		}
		step(StepAutostart, fmt.Sprintf("turn autostart of pool %s %s", name, onOff(!s.Off)))
	case Build:
		if why := model.PoolBuildUnsupported(p.Type); why != "" {
			return Prepared{}, refusal("build pool %s: %s", name, why)
		}
		if p.Active {
			return Prepared{}, refusal("pool %s is running: libvirt builds only a stopped pool; stop it first (%s --confirm %s)", name, cmd("stop"), name)
		}
		step(StepBuild, "build pool "+name+": "+buildDoes(p.Type, s.Overwrite))
	case Delete:
		if why := model.PoolDeleteUnsupported(p.Type); why != "" {
			return Prepared{}, refusal("delete pool %s: %s", name, why)
		}
		if err := noUsers(ctx, d, p, "delete"); err != nil {
			return Prepared{}, err
		}
		if p.Active {
			if err := emptyPool(ctx, d, p); err != nil {
				return Prepared{}, err
			}
		} else {
			// libvirt lists the volumes of a running pool only: start it
			// to look inside; the rollback stops it again.
			step(StepStart, "start pool "+name+" to see that it holds no volumes")
			step(StepInspect, "check that pool "+name+" holds no volumes")
		}
		step(StepStop, "stop pool "+name)
		step(StepDelete, "delete the storage of pool "+name+": "+deleteDoes(p.Type))
	case Undefine:
		if err := noUsers(ctx, d, p, "undefine"); err != nil {
			return Prepared{}, err
		}
		if p.Active {
			step(StepStop, "stop pool "+name+" (pool-destroy: no data is deleted)")
		}
		step(StepUndefine, "undefine pool "+name)
		pr.Warnings = append(pr.Warnings, "its storage stays ("+storageOf(p)+"): define a pool on it again to use it")
	default:
		return Prepared{}, refusal("unknown pool action %q", s.Action)
	}
	return pr, nil
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

func storageOf(p model.Pool) string {
	switch {
	case p.Type == model.PoolRBD:
		return "Ceph pool " + p.SourceName + " and its images"
	case p.Type == model.PoolLogical && p.SourceName != "":
		return "VG " + p.SourceName + " and its LVs"
	case p.TargetPath != "":
		return p.TargetPath + " and what it holds"
	}
	return "what the pool holds"
}

// stopRules refuses a stop while a running VM uses the pool, and warns
// about VMs that are shut off but use it.
func stopRules(ctx context.Context, d Deps, p model.Pool, pr *Prepared) error {
	us, err := Users(ctx, d, p)
	if err != nil {
		return err
	}
	var running, off []User
	for _, u := range us {
		if u.Running {
			running = append(running, u)
		} else {
			off = append(off, u)
		}
	}
	if len(running) > 0 {
		return refusal("pool %s is in use by running VMs: %s; shut them down or detach those disks first", p.Name, listUsers(running))
	}
	if len(off) > 0 {
		pr.Warnings = append(pr.Warnings, fmt.Sprintf("VMs that use pool %s from their next start (shut off, or a disk only in the persistent definition) will fail to start it until the pool runs again: %s", p.Name, listUsers(off)))
	}
	return nil
}

// noUsers refuses while any VM, running or not, uses the pool.
func noUsers(ctx context.Context, d Deps, p model.Pool, verb string) error {
	us, err := Users(ctx, d, p)
	if err != nil {
		return err
	}
	if len(us) > 0 {
		return refusal("cannot %s pool %s: VMs use it: %s; detach those disks (or undefine those VMs) first", verb, p.Name, listUsers(us))
	}
	return nil
}

// emptyPool refuses while the running pool holds volumes.
func emptyPool(ctx context.Context, d Deps, p model.Pool) error {
	names, err := d.Libvirt.VolumeNames(ctx, p.Name)
	if err != nil {
		return fmt.Errorf("list the volumes of pool %s: %w", p.Name, err)
	}
	if len(names) == 0 {
		return nil
	}
	shown := names
	if len(shown) > 5 {
		shown = shown[:5]
	}
	more := ""
	if len(names) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(names)-len(shown))
	}
	return refusal("pool %s still holds %d volume(s): %s%s; delete the drives first (libvirt's delete would remove them, and on a logical pool vgremove -f destroys every LV, stowage's or not)",
		p.Name, len(names), strings.Join(shown, ", "), more)
}

// Users lists the VM disks in pool p on this host and, for shared
// storage, on every peer (live and persistent definitions). A peer that
// cannot be reached is an error wrapping ErrRefused: a user there cannot
// be ruled out.
func Users(ctx context.Context, d Deps, p model.Pool) ([]User, error) {
	type host struct {
		name string
		lv   Libvirt
	}
	hs := []host{{d.Host, d.Libvirt}}
	if model.SharedStorage(p.Type) {
		for _, peer := range d.Peers {
			if peer.Host == d.Host {
				continue
			}
			if peer.Libvirt == nil {
				return nil, refusal("cannot check connected host %s for VMs using %s pool %s (%v): wait until it is back, or close it, then try again", peer.Host, p.Type, p.Name, peer.Err)
			}
			hs = append(hs, host{peer.Host, peer.Libvirt})
		}
	}
	var out []User
	for _, h := range hs {
		names, err := h.lv.DomainNames(ctx)
		if err != nil {
			return nil, fmt.Errorf("check VMs on %s: %w", h.name, err)
		}
		for _, n := range names {
			// The live definition first: a disk there, on a VM that runs,
			// is in use now. A disk only in the persistent definition (or
			// of a VM that is shut off) is used from the next start.
			seen := map[string]bool{}
			for _, inactive := range []bool{false, true} {
				dom, err := h.lv.Domain(ctx, n, inactive)
				if errors.Is(err, model.ErrNotFound) {
					continue // undefined meanwhile
				}
				if err != nil {
					return nil, fmt.Errorf("check VM %s on %s: %w", n, h.name, err)
				}
				if inactive && !dom.Persistent {
					continue
				}
				running := !inactive && vmActive(dom.State)
				for _, u := range model.PoolUsers(model.HostInfo{Domains: []model.Domain{dom}}, p) {
					if seen[u.Disk.Target] {
						continue // in both definitions
					}
					seen[u.Disk.Target] = true
					out = append(out, User{Host: h.name, VM: n, Disk: u.Disk.Target, Running: running})
				}
			}
		}
	}
	return out, nil
}

// vmActive reports whether a VM in state s has its disks open: running,
// idle, paused, shutting down or suspended. libvirtx names states in
// two spellings ("shut off" as virsh prints it, "shut-off"): both, and
// crashed or unknown states, count as not running.
func vmActive(s string) bool {
	switch s {
	case "", "shut off", "shut-off", "shutoff", "crashed", "no state", "nostate":
		return false
	}
	return true
}
