package iscsi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"stowage/model"
	"stowage/plan"
)

// Phase 1 of LVM on iSCSI: log the host in to the target through an
// iscsi pool (found or defined) and list its LUNs.

// ConnectTarget makes sure an active, autostarted iscsi pool logs the host
// in to the target (defining one when none exists), and lists its LUNs.
func (s *Setup) ConnectTarget(ctx context.Context) ([]model.LUN, error) {
	r := s.req
	if err := s.Validate(); err != nil {
		return nil, err
	}
	pools, err := s.h.Pools(ctx)
	if err != nil {
		return nil, err
	}
	name, existing, err := s.findISCSIPool(ctx, pools)
	if err != nil {
		return nil, err
	}
	s.iscsiPool, s.iscsiReused = name, existing != nil
	var acts []plan.Action
	if existing == nil {
		if acts, err = s.defineISCSIPool(ctx); err != nil {
			return nil, err
		}
	} else {
		src, err := s.h.PoolSourceOf(ctx, name)
		if err != nil {
			return nil, err
		}
		s.iscsiUUID = src.UUID
		s.existed("iscsi pool "+name, "already defined for this portal and target; reused")
	}
	active := existing != nil && existing.Active
	if !active {
		acts = append(acts, s.action(StepStartISCSIPool, "start iscsi pool "+name+" (log in to "+r.Target+")", "virsh pool-start "+name, "",
			"start iscsi pool", "pool "+name, func(ctx context.Context) (plan.Made, error) {
				if err := s.h.PoolStart(ctx, name); err != nil {
					return plan.Made{}, Explain(err, r.Portal)
				}
				return s.poolMade("iscsi pool "+name+" (logged in)", name, s.iscsiUUID, model.PoolActStop, "virsh pool-destroy "+name), nil
			}))
	}
	if existing == nil || !existing.Autostart {
		acts = append(acts, s.autostart(StepAutostartISCSI, "iscsi", name, existing != nil, func() string { return s.iscsiUUID }))
	}
	if err := s.runPlan(ctx, acts, &s.phase1); err != nil {
		return nil, err
	}
	if active {
		if err := s.h.RefreshPool(ctx, name); err != nil {
			return nil, err
		}
	}
	return s.listLUNs(ctx, pools)
}

// poolMade is what a step that changed a pool made: its undo does act to
// the pool only while it has the UUID the run recorded.
func (s *Setup) poolMade(what, name, uuid string, act model.PoolAct, command string) plan.Made {
	h := s.h
	return plan.Made{What: what, Identity: uuid, Command: command, Undo: func(ctx context.Context) error {
		return h.PoolIf(ctx, name, act, notOurs("pool "+name, uuid))
	}}
}

// findISCSIPool returns the pool to use: an existing iscsi pool for the
// same portal and target (resume), or the requested name when it is free.
func (s *Setup) findISCSIPool(ctx context.Context, pools []model.Pool) (string, *model.Pool, error) {
	want := s.req.Portal.String()
	for i, p := range pools {
		if p.Type != model.PoolISCSI {
			continue
		}
		src, err := s.h.PoolSourceOf(ctx, p.Name)
		if errors.Is(err, model.ErrNotFound) {
			continue // removed since the list: another admin at work
		}
		if err != nil {
			return "", nil, err
		}
		if slices.Contains(src.Devices, s.req.Target) && slices.Contains(src.Hosts, want) {
			return p.Name, &pools[i], nil
		}
	}
	for _, p := range pools {
		if p.Name == s.req.ISCSIPool {
			return "", nil, s.refuse("define iscsi pool", "pool "+p.Name,
				fmt.Errorf("pool name %q is taken by a %s pool for something else; choose another iscsi pool name", p.Name, p.Type))
		}
	}
	return s.req.ISCSIPool, nil, nil
}

// defineISCSIPool returns the actions that define the CHAP secret (when
// asked) and the iscsi pool.
func (s *Setup) defineISCSIPool(ctx context.Context) ([]plan.Action, error) {
	r, name := s.req, s.req.ISCSIPool
	spec := model.ISCSIPoolSpec{Name: name, Host: r.Portal.Host, Port: r.Portal.Port, Target: r.Target}
	var acts []plan.Action
	if r.CHAP != nil {
		usage := SecretUsage(name)
		spec.CHAPUser, spec.CHAPUsage = r.CHAP.User, usage
		// A secret with this usage but no pool may be a leftover of an
		// interrupted run, or someone else's: stowage cannot tell, so it
		// neither reuses (its value may differ) nor removes it.
		if uuid, left, err := s.h.CHAPSecretUUID(ctx, usage); err != nil {
			return nil, err
		} else if left {
			return nil, s.refuse("define CHAP secret", "secret "+usage, fmt.Errorf(
				"a CHAP secret with usage %q (UUID %s) exists without pool %s: left by an interrupted run, or someone else's; remove it (virsh secret-undefine %s) or choose another iscsi pool name",
				usage, uuid, name, uuid))
		}
		secret := slices.Clone(r.CHAP.Secret)
		h, user := s.h, r.CHAP.User
		acts = append(acts, s.action(StepDefineSecret, "define CHAP secret "+usage+" (private)",
			"virsh secret-define iscsi-secret.xml; virsh secret-set-value --file …", "",
			"define CHAP secret", "secret "+usage, func(ctx context.Context) (plan.Made, error) {
				defer clear(secret)
				uuid, err := h.DefineCHAPSecret(ctx, usage, "stowage: CHAP secret of user "+user+" for pool "+name, secret)
				if err != nil {
					return plan.Made{}, err
				}
				return plan.Made{What: "CHAP secret " + usage, Identity: uuid, Command: "virsh secret-undefine " + uuid,
					Undo: func(ctx context.Context) error {
						return h.RemoveCHAPSecretIf(ctx, usage, notOurs("CHAP secret "+usage, uuid))
					}}, nil
			}))
	}
	doc, err := iscsiPoolXML(spec)
	if err != nil {
		return nil, err
	}
	acts = append(acts, s.action(StepDefineISCSIPool, "define iscsi pool "+name, "virsh pool-define "+name+".xml", doc,
		"define iscsi pool", "pool "+name, func(ctx context.Context) (plan.Made, error) {
			uuid, err := s.h.DefineISCSIPool(ctx, spec)
			if err != nil {
				return plan.Made{}, Explain(err, r.Portal)
			}
			s.iscsiUUID = uuid
			return s.poolMade("iscsi pool "+name, name, uuid, model.PoolActUndefine, "virsh pool-undefine "+name), nil
		}))
	return acts, nil
}

// autostart turns a pool's autostart on. A pool this run defined goes
// away on rollback anyway; one that existed gets autostart off again
// (while it still has its UUID).
func (s *Setup) autostart(id model.StepID, kind, name string, existed bool, uuid func() string) plan.Action {
	return s.action(id, "autostart "+kind+" pool "+name, "virsh pool-autostart "+name, "",
		"autostart "+kind+" pool", "pool "+name, func(ctx context.Context) (plan.Made, error) {
			if err := s.h.PoolAutostart(ctx, name, true); err != nil {
				return plan.Made{}, err
			}
			if !existed {
				return plan.Made{}, nil
			}
			return s.poolMade("autostart of pool "+name, name, uuid(), model.PoolActAutostartOff, "virsh pool-autostart --disable "+name), nil
		})
}

// listLUNs lists the iscsi pool's LUNs and marks those that hold a VG or
// belong to a logical pool.
func (s *Setup) listLUNs(ctx context.Context, pools []model.Pool) ([]model.LUN, error) {
	luns, err := s.h.LUNs(ctx, s.iscsiPool)
	if err != nil {
		return nil, err
	}
	vgs, err := s.h.VolumeGroups(ctx)
	if err != nil {
		return nil, err
	}
	byVol := map[string]int{}
	byPath := map[string]int{}
	s.pvOf = map[int]string{}
	for i, l := range luns {
		byVol[l.Volume], byPath[l.Path] = i, i
	}
	for _, vg := range vgs {
		for _, dev := range vg.Devices {
			pool, vol, err := s.h.VolumeByPath(ctx, dev)
			if err != nil || pool != s.iscsiPool {
				continue // a PV on another disk, or one libvirt cannot map
			}
			if i, ok := byVol[vol]; ok {
				luns[i].VG = vg.Name
				s.pvOf[luns[i].Number] = vg.Name
			}
		}
	}
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
		for _, d := range src.Devices {
			if i, ok := byPath[d]; ok {
				luns[i].Pool = p.Name
				if luns[i].VG == "" {
					luns[i].VG = src.Name
				}
			}
		}
		// Pools stowage defines name only their VG (see BuildVG).
		for i := range luns {
			if luns[i].VG != "" && luns[i].VG == src.Name {
				luns[i].Pool = p.Name
			}
		}
	}
	s.luns = luns
	return slices.Clone(luns), nil
}

// LUNsSummary renders LUN numbers as "1,2".
func LUNsSummary(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, ",")
}

func sortedUnique(ns []int) []int {
	out := slices.Clone(ns)
	sort.Ints(out)
	return slices.Compact(out)
}
