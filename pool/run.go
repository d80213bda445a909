package pool

import (
	"context"
	"errors"
	"fmt"

	"stowage/model"
	"stowage/plan"
)

// Run carries out a prepared action on the pool whose UUID Prepare read.
// confirm is the name the admin typed; a dangerous action refuses any
// other. The pool is read again first: gone, or another pool now under
// its name (another admin in between), is refused with nothing touched;
// the rules are checked again on the pool as it is now (a VM started in
// the meantime). Refusals are audited and wrap ErrRefused. Each step
// acts on the UUID only; a failure rolls back what this run changed.
// events (may be nil) gets the progress and a Finished event; Run does
// not close it.
func Run(ctx context.Context, d Deps, pr Prepared, confirm string, events chan<- plan.Event) (Result, error) {
	s := pr.Spec
	name, uuid := pr.Pool.Name, pr.Pool.UUID
	res := Result{Host: d.Host, Pool: name, UUID: uuid, Action: s.Verb()}
	r := d.runner(events)
	object := fmt.Sprintf("pool %s (uuid %s)", name, uuid)
	audit := "pool " + s.Verb()
	refuse := func(err error) (Result, error) { return res, r.Refuse(audit, object, err) }
	if d.ReadOnly {
		return refuse(refusal("--readonly: pool %s changes the host; run stowage without --readonly", s.Verb()))
	}
	if name == "" || uuid == "" {
		return refuse(refusal("pool %s was not prepared: nothing read, nothing done", s.Pool))
	}
	if s.Dangerous() && confirm != name {
		return refuse(refusal("pool %s is destructive: type the pool's name to confirm (--confirm %s)", s.Verb(), name))
	}
	now, err := d.Libvirt.Pool(ctx, name)
	switch {
	case errors.Is(err, model.ErrNotFound):
		return refuse(refusal("pool %s (uuid %s) is gone since the action was prepared (another admin?): nothing done", name, uuid))
	case err != nil:
		return res, fmt.Errorf("read pool %q on %s again: %w", name, d.Host, err)
	case now.UUID != uuid:
		return refuse(refusal("pool %s is not the one you confirmed: its uuid was %s, now %s (another admin replaced it): nothing done; look at it again", name, uuid, now.UUID))
	}
	cur, err := check(ctx, d, s, now)
	if err != nil {
		if errors.Is(err, ErrRefused) {
			return refuse(err)
		}
		return res, err
	}
	if cur.Already != "" {
		r.Record(audit, object, plan.ResultOK, nil, 0)
		res.Notes = append(res.Notes, cur.Already)
		emit(events, plan.Event{Kind: plan.Finished, Note: cur.Already})
		return res, nil
	}
	res.Notes = append(res.Notes, cur.Warnings...)
	acts := actions(d, cur, object, audit)
	left, err := r.Run(ctx, acts)
	res.Leftovers = left
	if err != nil {
		return res, fmt.Errorf("pool %s %s: %w", s.Verb(), name, err)
	}
	res.Changed = true
	emit(events, plan.Event{Kind: plan.Finished, Note: fmt.Sprintf("pool %s: %s done", name, s.Verb())})
	return res, nil
}

func emit(ch chan<- plan.Event, e plan.Event) {
	if ch != nil {
		ch <- e
	}
}

// actions binds the plan's steps to the pool's UUID. Steps that change a
// state another step may need back (start, stop, autostart) record an
// undo that restores it, on the same UUID; build, delete and undefine
// are last in their plans and cannot be undone (the README says so).
func actions(d Deps, pr Prepared, object, audit string) []plan.Action {
	lv, name, uuid := d.Libvirt, pr.Pool.Name, pr.Pool.UUID
	made := func(what, command string, undo func(context.Context) error) plan.Made {
		return plan.Made{What: what, Identity: uuid, Command: command, Undo: undo}
	}
	var out []plan.Action
	for _, st := range pr.Steps {
		a := plan.Action{Step: st, Object: object, Audit: audit}
		switch st.ID {
		case StepStart:
			a.Audit = "pool start"
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				if err := lv.PoolStartIf(ctx, name, uuid); err != nil {
					return plan.Made{}, err
				}
				return made("pool "+name+" running", "virsh pool-destroy "+uuid,
					func(ctx context.Context) error { return lv.PoolStopIf(ctx, name, uuid) }), nil
			}
		case StepInspect:
			a.Audit = "" // a read
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				err := emptyPool(ctx, d, pr.Pool)
				if errors.Is(err, ErrRefused) {
					d.runner(nil).Refuse(audit, object, err)
				}
				return plan.Made{}, err
			}
		case StepStop:
			a.Audit = "pool stop"
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				if err := lv.PoolStopIf(ctx, name, uuid); err != nil {
					return plan.Made{}, err
				}
				return made("pool "+name+" stopped", "virsh pool-start "+uuid,
					func(ctx context.Context) error { return lv.PoolStartIf(ctx, name, uuid) }), nil
			}
		case StepRefresh:
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				return plan.Made{}, lv.PoolRefreshIf(ctx, name, uuid)
			}
		case StepAutostart:
			on := !pr.Spec.Off
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				if err := lv.PoolAutostartIf(ctx, name, uuid, on); err != nil {
					return plan.Made{}, err
				}
				back := "virsh pool-autostart " + uuid
				if on {
					back += " --disable"
				}
				return made("autostart of pool "+name+" "+onOff(on), back,
					func(ctx context.Context) error { return lv.PoolAutostartIf(ctx, name, uuid, !on) }), nil
			}
		case StepBuild:
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				return plan.Made{}, lv.PoolBuildIf(ctx, name, uuid, pr.Spec.Overwrite, guardsDevices(pr.Pool.Type))
			}
		case StepDelete:
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				return plan.Made{}, lv.PoolDeleteIf(ctx, name, uuid)
			}
		case StepUndefine:
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				return plan.Made{}, lv.PoolUndefineIf(ctx, name, uuid)
			}
		}
		out = append(out, a)
	}
	return out
}
