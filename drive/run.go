package drive

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"stowage/libvirtx"
	"stowage/model"
)

// EventKind says what happened to a step.
type EventKind int

// Event kinds, in the order a step goes through them.
const (
	StepStarted EventKind = iota
	StepProgress
	// StepRetrying: an attempt of the step failed for a transient reason
	// (Err) and is made again; Note says which attempt.
	StepRetrying
	StepDone
	StepFailed
	// RollbackStarted: a failure or a cancel; the finished steps are now
	// undone in reverse order.
	RollbackStarted
	StepUndone
	UndoFailed
	Finished
)

// Event is one line of progress. It never carries a secret value.
type Event struct {
	Kind  EventKind
	Index int
	Step  model.Step
	// Done and Total are bytes (allocation and capacity) for measurable
	// steps; zero otherwise.
	Done, Total uint64
	Elapsed     time.Duration
	Err         error
	// Note is a human line: a warning, what was removed, what is left.
	Note string
}

// ErrCancelled is the error of a workflow stopped by its context.
var ErrCancelled = errors.New("cancelled")

// Leftover is something a failed undo left behind, with the command that
// removes it by hand.
type Leftover struct {
	What    string `json:"what"`
	Command string `json:"command"`
}

// report is how a running step tells the runner what happens.
type report struct {
	progress func(done, total uint64)
	// retried: attempt (1-based, of the bound) failed for a transient
	// reason, cause, and is made again.
	retried func(attempt, of int, cause error)
}

// action is one step's work. It returns the undo of what it did (nil when
// there is nothing to undo), and a Leftover describing that undo's target
// for when the undo itself fails.
type action struct {
	step model.Step
	do   func(ctx context.Context, rep report) (undo func(context.Context) error, left Leftover, err error)
	// audit names the action and object in the audit log; empty for
	// read-only steps (verify).
	auditAction, auditObject string
}

type undoEntry struct {
	index int
	step  model.Step
	undo  func(context.Context) error
	left  Leftover
	audit string
	obj   string
}

// runner executes actions in order and rolls back on failure.
type runner struct {
	d      Deps
	events chan<- Event
}

func (r runner) emit(e Event) {
	if r.events != nil {
		r.events <- e
	}
}

// run executes the actions; on failure or cancel it undoes the finished
// ones in reverse, and returns the error with every leftover.
func (r runner) run(ctx context.Context, acts []action) ([]Leftover, error) {
	var done []undoEntry
	for i, a := range acts {
		if err := ctx.Err(); err != nil {
			return r.rollback(done, fmt.Errorf("before %s: %w", a.step.Title, ErrCancelled))
		}
		start := time.Now()
		r.emit(Event{Kind: StepStarted, Index: i, Step: a.step})
		r.d.Log.Info("step started", "step", a.step.ID, "title", a.step.Title)
		rep := report{
			progress: func(d, t uint64) {
				r.emit(Event{Kind: StepProgress, Index: i, Step: a.step, Done: d, Total: t, Elapsed: time.Since(start)})
			},
			retried: func(attempt, of int, cause error) {
				note := fmt.Sprintf("attempt %d of %d failed (%s); trying again", attempt, of, transientCause(cause))
				r.d.Log.Warn("step retried", "step", a.step.ID, "attempt", attempt, "of", of, "err", cause)
				r.emit(Event{Kind: StepRetrying, Index: i, Step: a.step, Err: cause, Elapsed: time.Since(start), Note: note})
				if a.auditAction != "" {
					r.record(a.auditAction, a.auditObject, "retried", cause, time.Since(start))
				}
			},
		}
		// A step runs to its end: libvirt and librbd cannot abort a call,
		// and libvirtx closes the connection when a call's context ends,
		// which would leave the rollback without a connection. Cancellation
		// is honoured between steps.
		undo, left, err := a.do(context.WithoutCancel(ctx), rep)
		el := time.Since(start)
		if a.auditAction != "" {
			r.audit(a.auditAction, a.auditObject, err, el)
		}
		if undo != nil {
			done = append(done, undoEntry{index: i, step: a.step, undo: undo, left: left, audit: a.auditAction, obj: a.auditObject})
		}
		if err == nil && r.d.FailAfter == a.step.ID {
			err = fmt.Errorf("injected failure after %s", a.step.ID)
		}
		if err == nil && ctx.Err() != nil {
			err = fmt.Errorf("during %s: %w", a.step.Title, ErrCancelled)
		}
		if err != nil {
			r.d.Log.Error("step failed", "step", a.step.ID, "err", err)
			r.emit(Event{Kind: StepFailed, Index: i, Step: a.step, Err: err, Elapsed: el})
			return r.rollback(done, err)
		}
		r.d.Log.Info("step done", "step", a.step.ID, "elapsed", el)
		r.emit(Event{Kind: StepDone, Index: i, Step: a.step, Elapsed: el})
	}
	return nil, nil
}

func (r runner) rollback(done []undoEntry, cause error) ([]Leftover, error) {
	if len(done) == 0 {
		return nil, cause
	}
	r.emit(Event{Kind: RollbackStarted, Err: cause, Note: fmt.Sprintf("rolling back %d step(s)", len(done))})
	// Undo runs even when the workflow's context was cancelled: that is
	// what a cancel asks for.
	ctx, cancel := context.WithTimeout(context.Background(), r.d.CreateTimeout)
	defer cancel()
	var left []Leftover
	for k := len(done) - 1; k >= 0; k-- {
		u := done[k]
		start := time.Now()
		err := u.undo(ctx)
		el := time.Since(start)
		if u.audit != "" {
			r.audit("undo "+u.audit, u.obj, err, el)
		}
		if err != nil {
			left = append(left, u.left)
			r.d.Log.Error("undo failed", "step", u.step.ID, "err", err)
			r.emit(Event{Kind: UndoFailed, Index: u.index, Step: u.step, Err: err, Elapsed: el,
				Note: fmt.Sprintf("left: %s; remove it with: %s", u.left.What, u.left.Command)})
			continue
		}
		r.d.Log.Info("step undone", "step", u.step.ID)
		r.emit(Event{Kind: StepUndone, Index: u.index, Step: u.step, Elapsed: el, Note: "removed " + u.left.What})
	}
	if len(left) > 0 {
		var b strings.Builder
		for _, l := range left {
			fmt.Fprintf(&b, "\n  %s: %s", l.What, l.Command)
		}
		return left, fmt.Errorf("%w; rollback incomplete, left behind:%s", cause, b.String())
	}
	return nil, fmt.Errorf("%w (rolled back: nothing left)", cause)
}

func (r runner) audit(action, object string, err error, el time.Duration) {
	result := "ok"
	if err != nil {
		result = "failed"
	}
	r.record(action, object, result, err, el)
}

// record writes one audit line: result is ok, failed or retried.
func (r runner) record(action, object, result string, err error, el time.Duration) {
	if r.d.Audit == nil {
		return
	}
	rec := Record{Host: r.d.Host, Action: action, Object: object, Result: result, DurationMS: el.Milliseconds()}
	if err != nil {
		rec.Error = err.Error()
	}
	if aerr := r.d.Audit.Append(rec); aerr != nil {
		r.d.Log.Error("audit log", "err", aerr)
	}
}

// transientCause names a retried failure in a few words for the progress
// line; the whole error goes to the log and the audit trail.
func transientCause(err error) string {
	if libvirtx.IsLUKSBenchmarkFailure(err) {
		return "QEMU could not time its LUKS key derivation: Unable to get accurate CPU usage"
	}
	return err.Error()
}
