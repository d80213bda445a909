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
// every drive in the VG: callers confirm first (RunTeardown runs a
// confirmed TeardownPreview, holding each object to the identity the
// preview showed). Removal cannot be undone, so a failure stops the
// teardown and names what is left.
func Teardown(ctx context.Context, h Host, r plan.Runner, logicalPool, iscsiPool string) error {
	s := NewSetup(h, Request{}, nil)
	s.Runner = r
	_, err := s.teardown(ctx, TeardownIDs{LogicalPool: logicalPool, ISCSIPool: iscsiPool})
	return err
}

// TeardownIDs names what a teardown removes and, where set, the identity
// each object must still have: a pool or secret whose UUID differs is
// another's (defined after the preview) and is left alone.
type TeardownIDs struct {
	LogicalPool, LogicalUUID string
	ISCSIPool, ISCSIUUID     string
	// SecretUUID, when set, is the only CHAP secret the run may remove.
	SecretUUID string
}

// teardown runs the removal steps one by one; it returns what it left
// alone (an object no longer the one named) and, on failure, an error
// naming what is left and the commands that remove it.
func (s *Setup) teardown(ctx context.Context, ids TeardownIDs) (leftAlone []string, err error) {
	var acts []plan.Action
	if ids.LogicalPool != "" {
		a, alone, err := s.removeLogical(ctx, ids.LogicalPool, ids.LogicalUUID)
		if err != nil {
			return nil, err
		}
		if alone != "" {
			// The VG under another's pool must not lose its LUNs either.
			return nil, s.refuse("tear down", "pool "+ids.LogicalPool, fmt.Errorf("%s; nothing was changed: preview the teardown again", alone))
		}
		acts = append(acts, a...)
	}
	if ids.ISCSIPool != "" {
		a, alone, err := s.removeISCSI(ctx, ids.ISCSIPool, ids.ISCSIUUID, ids.SecretUUID)
		if err != nil {
			return nil, err
		}
		if alone != "" {
			leftAlone = append(leftAlone, alone)
			s.existed("iscsi pool "+ids.ISCSIPool, alone)
			s.Runner.Record("tear down iscsi pool", s.Runner.Host+" pool "+ids.ISCSIPool, plan.ResultKept, errors.New(alone), 0)
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
		return leftAlone, fmt.Errorf("teardown stopped: %w\nleft to do by hand: %s", err, strings.Join(left, "; "))
	}
	return leftAlone, nil
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
// exist, or when expect is set and the pool now has another UUID (alone
// then says so: it is another's, left alone). A pool of another type than
// want is refused.
func (s *Setup) startRemoval(ctx context.Context, name, expect string, want model.PoolType, stop model.StepID, stopTitle string) (r *removal, alone string, err error) {
	uuid, ok, err := s.h.PoolUUID(ctx, name)
	if err != nil || !ok {
		return nil, "", err
	}
	if expect != "" && uuid != expect {
		return nil, fmt.Sprintf("left alone: pool %s now has UUID %s, not %s as previewed (another admin defined it after the preview)", name, uuid, expect), nil
	}
	pools, err := s.h.Pools(ctx)
	if err != nil {
		return nil, "", err
	}
	src, err := s.h.PoolSourceOf(ctx, name)
	if err != nil {
		return nil, "", err
	}
	if src.Type != want {
		return nil, "", s.refuse("tear down", "pool "+name, fmt.Errorf("pool %s is of type %s, not %s: it is not one LVM on iSCSI made", name, src.Type, want))
	}
	r = &removal{uuid: uuid, src: src, pools: pools, check: notOurs("pool "+name, uuid)}
	if i := slices.IndexFunc(pools, func(p model.Pool) bool { return p.Name == name }); i >= 0 && pools[i].Active {
		r.acts = append(r.acts, s.action(stop, stopTitle, "virsh pool-destroy "+name, "",
			"stop "+string(want)+" pool", "pool "+name, func(ctx context.Context) (plan.Made, error) {
				return plan.Made{}, s.h.PoolIf(ctx, name, model.PoolActStop, r.check)
			}))
	}
	return r, "", nil
}

func (s *Setup) removeLogical(ctx context.Context, name, expect string) ([]plan.Action, string, error) {
	r, alone, err := s.startRemoval(ctx, name, expect, model.PoolLogical, StepStopLogical, "stop logical pool "+name)
	if r == nil || err != nil {
		return nil, alone, err
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
	return acts, "", nil
}

// removeISCSI: expectSecret, when set, is the only CHAP secret removed.
func (s *Setup) removeISCSI(ctx context.Context, name, expect, expectSecret string) ([]plan.Action, string, error) {
	r, alone, err := s.startRemoval(ctx, name, expect, model.PoolISCSI, StepStopISCSI, "stop iscsi pool "+name+" (log out)")
	if r == nil || err != nil {
		if alone != "" {
			alone += "; its CHAP secret stays with it"
		}
		return nil, alone, err
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
		return acts, "", nil
	}
	secretUUID, ok, err := s.h.CHAPSecretUUID(ctx, usage)
	if err != nil || !ok {
		return acts, "", err
	}
	if expectSecret != "" && secretUUID != expectSecret {
		s.existed("CHAP secret "+usage, fmt.Sprintf("kept: it now has UUID %s, not %s as previewed", secretUUID, expectSecret))
		return acts, "", nil
	}
	for _, p := range pools {
		if p.Name == name || p.Type != model.PoolISCSI && p.Type != model.PoolISCSIDirect {
			continue
		}
		o, err := s.h.PoolSourceOf(ctx, p.Name)
		if err != nil {
			return nil, "", err
		}
		if o.AuthUsage == usage {
			s.existed("CHAP secret "+usage, "kept: pool "+p.Name+" uses it too")
			return acts, "", nil
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
	return acts, "", nil
}
