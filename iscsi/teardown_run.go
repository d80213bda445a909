package iscsi

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"stowage/model"
	"stowage/plan"
)

// TeardownResult is what a confirmed teardown did: its steps, and what it
// left alone because it was no longer what the preview showed.
type TeardownResult struct {
	Steps     []Step   `json:"steps"`
	LeftAlone []string `json:"left_alone,omitempty"`
}

// ErrNotConfirmed: the typed confirmation is not the preview's name.
var ErrNotConfirmed = fmt.Errorf("not confirmed")

// RunTeardown removes what the preview listed, after confirm (typed by
// the admin) equals its ConfirmName. It checks again before changing
// anything (refusing, audited, with nothing changed): the logical pool
// must still carry the previewed UUID and hold exactly the previewed LVs,
// and no VM on any connected host may have a disk in either pool. An
// iscsi pool or CHAP secret that another admin replaced after the preview
// is left alone, and the result says so. A failure stops the run and
// names what is left with the commands that remove it.
func RunTeardown(ctx context.Context, h TeardownHost, r plan.Runner, others []OtherHost, pv TeardownPreview, confirm string, progress func(Step)) (TeardownResult, error) {
	s := NewSetup(h, Request{}, progress)
	s.Runner = r
	object := r.Host + " pool " + pv.ConfirmName()
	if pv.ConfirmName() == "" {
		return TeardownResult{}, s.refuse("tear down LVM on iSCSI", object, fmt.Errorf("the preview names nothing to tear down"))
	}
	if confirm != pv.ConfirmName() {
		return TeardownResult{}, s.refuse("tear down LVM on iSCSI", object,
			fmt.Errorf("confirmation %q does not match: type the pool name %q to confirm: %w", confirm, pv.ConfirmName(), ErrNotConfirmed))
	}
	if err := recheckTeardown(ctx, h, others, pv); err != nil {
		return TeardownResult{Steps: s.Steps()}, s.refuse("tear down LVM on iSCSI", object, err)
	}
	alone, err := s.teardown(ctx, pv.IDs())
	return TeardownResult{Steps: s.Steps(), LeftAlone: alone}, err
}

// recheckTeardown reads the host again: what the admin confirmed must
// still be what is there.
func recheckTeardown(ctx context.Context, h TeardownHost, others []OtherHost, pv TeardownPreview) error {
	if l := pv.Logical; l != nil {
		uuid, ok, err := h.PoolUUID(ctx, l.Name)
		if err != nil {
			return fmt.Errorf("read pool %s: %w", l.Name, err)
		}
		if !ok {
			return fmt.Errorf("logical pool %s is gone since the preview: preview again", l.Name)
		}
		if uuid != l.UUID {
			return fmt.Errorf("logical pool %s now has UUID %s, not %s as previewed (another admin replaced it): nothing was changed; preview again", l.Name, uuid, l.UUID)
		}
		vols, err := h.Volumes(ctx, l.Name)
		if err != nil {
			return fmt.Errorf("list the drives of %s: %w", l.Name, err)
		}
		var added []string
		for _, v := range vols {
			if !slices.ContainsFunc(pv.LVs, func(p LV) bool { return p.Key == v.Key }) {
				added = append(added, v.Name)
			}
		}
		if len(added) > 0 {
			return fmt.Errorf("VG %s holds drives the preview did not show (%s): they would be destroyed unseen; preview again", pv.VG, strings.Join(added, ", "))
		}
		if err := recheckPVs(ctx, h, pv); err != nil {
			return err
		}
	}
	return refuseUsers(ctx, h, others, pv)
}

// recheckPVs: the VG must lie on exactly the LUNs the preview showed
// (pool-delete pvremoves every device of the VG as LVM names it now).
func recheckPVs(ctx context.Context, h TeardownHost, pv TeardownPreview) error {
	vgs, err := h.VolumeGroups(ctx)
	if err != nil {
		return fmt.Errorf("list volume groups: %w", err)
	}
	i := slices.IndexFunc(vgs, func(v model.VolumeGroup) bool { return v.Name == pv.VG })
	if i < 0 {
		return fmt.Errorf("VG %s is not on the host now (its LUNs are logged out or gone): preview again", pv.VG)
	}
	var now []string
	for _, d := range vgs[i].Devices {
		pool, vol, err := h.VolumeByPath(ctx, d)
		if err != nil || pool != pv.PVPool {
			return fmt.Errorf("VG %s now lies on %s, which is not a LUN of iscsi pool %s as previewed: preview again", pv.VG, d, pv.PVPool)
		}
		now = append(now, vol)
	}
	slices.Sort(now)
	if !slices.Equal(now, pv.PVLUNs) {
		return fmt.Errorf("VG %s now lies on LUNs %s, not %s as previewed: preview again", pv.VG, strings.Join(now, ", "), strings.Join(pv.PVLUNs, ", "))
	}
	return nil
}
