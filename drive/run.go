package drive

import (
	"errors"
	"fmt"

	"stowage/model"
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

// notOurs turns the backends' "not the object identified"
// (model.ErrNotTheSame, which ceph's ErrImageReplaced matches too) into
// plan's, so that the runner keeps the object and says why.
func notOurs(err error) error {
	if err != nil && errors.Is(err, model.ErrNotTheSame) && !errors.Is(err, plan.ErrNotOurs) {
		return fmt.Errorf("%w (%w)", err, plan.ErrNotOurs)
	}
	return err
}
