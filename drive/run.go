package drive

import (
	"errors"
	"fmt"

	"stowage/ceph"
	"stowage/libvirtx"
	"stowage/plan"
)

// The workflows run on package plan's runner, the one every mutation in
// stowage goes through; these names keep drive's callers unchanged.
type (
	// Event is one line of progress (plan.Event).
	Event = plan.Event
	// EventKind says what happened to a step.
	EventKind = plan.EventKind
	// Leftover is something a failed undo left, with its command.
	Leftover = plan.Leftover
)

// Event kinds (see plan).
const (
	StepStarted     = plan.StepStarted
	StepProgress    = plan.StepProgress
	StepRetrying    = plan.StepRetrying
	StepDone        = plan.StepDone
	StepFailed      = plan.StepFailed
	RollbackStarted = plan.RollbackStarted
	StepUndone      = plan.StepUndone
	UndoKept        = plan.UndoKept
	UndoFailed      = plan.UndoFailed
	Finished        = plan.Finished
	AuditFailed     = plan.AuditFailed
)

// ErrCancelled is the error of a workflow stopped by its context.
var ErrCancelled = plan.ErrCancelled

func (d Deps) runner(events chan<- Event) plan.Runner {
	return plan.Runner{Host: d.Host, Audit: d.Audit, Log: d.Log, Events: events, UndoTimeout: d.CreateTimeout, FailAfter: d.FailAfter}
}

// retried adapts libvirtx's retry report to the runner's.
func retried(rep plan.Report) libvirtx.Retried {
	return func(attempt, of int, cause error) { rep.Retried(attempt, of, libvirtx.BriefCause(cause), cause) }
}

// notOurs turns libvirtx's and ceph's "not the object identified" into
// plan's, so that the runner keeps the object and says why.
func notOurs(err error) error {
	if err != nil && (errors.Is(err, libvirtx.ErrNotTheSame) || errors.Is(err, ceph.ErrImageReplaced)) && !errors.Is(err, plan.ErrNotOurs) {
		return fmt.Errorf("%w (%w)", err, plan.ErrNotOurs)
	}
	return err
}
