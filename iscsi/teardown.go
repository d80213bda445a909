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

// The steps of a teardown.
const (
	StepStopLogical     model.StepID = "teardown-stop-logical"
	StepDeleteVG        model.StepID = "teardown-delete-vg"
	StepUndefineLogical model.StepID = "teardown-undefine-logical"
	StepStopISCSI       model.StepID = "teardown-stop-iscsi"
	StepUndefineISCSI   model.StepID = "teardown-undefine-iscsi"
	StepRemoveSecret    model.StepID = "teardown-remove-chap-secret"
)

// Teardown undoes a finished LVM-on-iSCSI setup through r (every change
// audited): it stops and deletes the logical pool's VG (vgremove, then
// pvremove on its LUNs, so no signature is left), undefines that pool,
// then stops and undefines the iscsi pool (logging the host out) and
// removes its stowage CHAP secret when no other pool names it. Each pool
// and secret is identified by the UUID read when the teardown starts; one
// that another admin put in its place meanwhile is left alone. It destroys
// every drive in the VG: callers confirm first. Removal cannot be undone,
// so a failure stops the teardown and names what is left.
func Teardown(ctx context.Context, h Host, r plan.Runner, logicalPool, iscsiPool string) error {
	s := NewSetup(h, Request{}, nil)
	s.Runner = r
	var acts []plan.Action
	if logicalPool != "" {
		a, err := s.removeLogical(ctx, logicalPool)
		if err != nil {
			return err
		}
		acts = append(acts, a...)
	}
	if iscsiPool != "" {
		a, err := s.removeISCSI(ctx, iscsiPool)
		if err != nil {
			return err
		}
		acts = append(acts, a...)
	}
	for i, a := range acts {
		err := s.runPlan(ctx, []plan.Action{a}, nil)
		if err == nil {
			continue
		}
		var left []string
		for _, b := range acts[i:] {
			left = append(left, s.meta[b.Step.ID].Virsh)
		}
		return fmt.Errorf("teardown stopped: %w\nleft to do by hand: %s", err, strings.Join(left, "; "))
	}
	return nil
}

// removal is what tearing down one pool starts from: its UUID (the
// identity every step checks), its source, the host's pools, and the stop
// step when the pool runs.
type removal struct {
	uuid  string
	src   model.PoolSource
	pools []model.Pool
	check func(string) error
	acts  []plan.Action
}

// startRemoval reads pool name for its teardown; nil when it does not
// exist. A pool of another type than want is refused.
func (s *Setup) startRemoval(ctx context.Context, name string, want model.PoolType, stop model.StepID, stopTitle string) (*removal, error) {
	uuid, ok, err := s.h.PoolUUID(ctx, name)
	if err != nil || !ok {
		return nil, err
	}
	pools, err := s.h.Pools(ctx)
	if err != nil {
		return nil, err
	}
	src, err := s.h.PoolSourceOf(ctx, name)
	if err != nil {
		return nil, err
	}
	if src.Type != want {
		return nil, s.refuse("tear down", "pool "+name, fmt.Errorf("pool %s is of type %s, not %s: it is not one LVM on iSCSI made", name, src.Type, want))
	}
	r := &removal{uuid: uuid, src: src, pools: pools, check: notOurs("pool "+name, uuid)}
	if i := slices.IndexFunc(pools, func(p model.Pool) bool { return p.Name == name }); i >= 0 && pools[i].Active {
		r.acts = append(r.acts, s.action(stop, stopTitle, "virsh pool-destroy "+name, "",
			"stop "+string(want)+" pool", "pool "+name, func(ctx context.Context) (plan.Made, error) {
				return plan.Made{}, s.h.PoolIf(ctx, name, model.PoolActStop, r.check)
			}))
	}
	return r, nil
}

func (s *Setup) removeLogical(ctx context.Context, name string) ([]plan.Action, error) {
	r, err := s.startRemoval(ctx, name, model.PoolLogical, StepStopLogical, "stop logical pool "+name)
	if r == nil || err != nil {
		return nil, err
	}
	uuid, src, check, acts := r.uuid, r.src, r.check, r.acts
	acts = append(acts, s.action(StepDeleteVG, "delete VG "+src.Name+" (vgremove, pvremove)", "virsh pool-delete "+name, "",
		"delete VG "+src.Name, "pool "+name, func(ctx context.Context) (plan.Made, error) {
			// pool-delete pvremoves the pool's <device>s: name them as LVM does now.
			vgs, err := s.h.VolumeGroups(ctx)
			if err != nil {
				return plan.Made{}, err
			}
			i := slices.IndexFunc(vgs, func(v model.VolumeGroup) bool { return v.Name == src.Name })
			if i < 0 {
				return plan.Made{}, nil
			}
			if err := s.ours(ctx, name, uuid); err != nil {
				return plan.Made{}, err
			}
			err = redefine(ctx, s.h, model.LogicalPoolSpec{Name: name, VG: src.Name, Devices: vgs[i].Devices}, func(ctx context.Context) error {
				return s.h.PoolIf(ctx, name, model.PoolActDeleteData, check)
			})
			if err != nil {
				return plan.Made{}, fmt.Errorf("delete VG %s: %w", src.Name, err)
			}
			return plan.Made{}, nil
		}))
	acts = append(acts, s.action(StepUndefineLogical, "undefine logical pool "+name, "virsh pool-undefine "+name, "",
		"undefine logical pool", "pool "+name, func(ctx context.Context) (plan.Made, error) {
			return plan.Made{}, s.h.PoolIf(ctx, name, model.PoolActUndefine, check)
		}))
	return acts, nil
}

func (s *Setup) removeISCSI(ctx context.Context, name string) ([]plan.Action, error) {
	r, err := s.startRemoval(ctx, name, model.PoolISCSI, StepStopISCSI, "stop iscsi pool "+name+" (log out)")
	if r == nil || err != nil {
		return nil, err
	}
	src, pools, check, acts := r.src, r.pools, r.check, r.acts
	acts = append(acts, s.action(StepUndefineISCSI, "undefine iscsi pool "+name, "virsh pool-undefine "+name, "",
		"undefine iscsi pool", "pool "+name, func(ctx context.Context) (plan.Made, error) {
			return plan.Made{}, s.h.PoolIf(ctx, name, model.PoolActUndefine, check)
		}))
	// Only secrets stowage made (its usage prefix) go with the pool, and
	// only when no other pool names them.
	usage := src.AuthUsage
	if usage == "" || !strings.HasPrefix(usage, SecretUsage("")) {
		return acts, nil
	}
	secretUUID, ok, err := s.h.CHAPSecretUUID(ctx, usage)
	if err != nil || !ok {
		return acts, err
	}
	for _, p := range pools {
		if p.Name == name || p.Type != model.PoolISCSI && p.Type != model.PoolISCSIDirect {
			continue
		}
		o, err := s.h.PoolSourceOf(ctx, p.Name)
		if err != nil {
			return nil, err
		}
		if o.AuthUsage == usage {
			s.existed("CHAP secret "+usage, "kept: pool "+p.Name+" uses it too")
			return acts, nil
		}
	}
	acts = append(acts, s.action(StepRemoveSecret, "remove CHAP secret "+usage, "virsh secret-undefine "+secretUUID, "",
		"remove CHAP secret", "secret "+usage, func(ctx context.Context) (plan.Made, error) {
			err := s.h.RemoveCHAPSecretIf(ctx, usage, notOurs("CHAP secret "+usage, secretUUID))
			if errors.Is(err, plan.ErrNotOurs) {
				s.existed("CHAP secret "+usage, fmt.Sprintf("kept: %v", err))
				return plan.Made{}, nil
			}
			return plan.Made{}, err
		}))
	return acts, nil
}
