package plan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

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
	// RollbackStarted: a failure or a cancel; what this run made is now
	// undone in reverse order.
	RollbackStarted
	StepUndone
	// UndoKept: the undo found the object no longer the one this run
	// made (or could not prove it was), and left it alone; Note says why.
	UndoKept
	UndoFailed
	Finished
	// AuditFailed: a record could not be written to the audit log; the
	// screen shows Note (the work itself went on).
	AuditFailed
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
	// Made, on StepDone, is what the step created and the command that
	// removes it by hand (nil when it made nothing to undo): a screen that
	// must quit before the rollback ends can name what may be left.
	Made *Leftover
}

// ErrCancelled is the error of a plan stopped by its context.
var ErrCancelled = errors.New("cancelled")

// ErrNotOurs is what an undo returns (wrapped, with the reason) when the
// object in its place is not the one its step made: another admin
// replaced it, or a timed-out call left no proof of whose it is.
var ErrNotOurs = errors.New("not the object this run made")

// Leftover is something a plan left behind, with the command that removes
// it by hand.
type Leftover struct {
	What    string `json:"what"`
	Command string `json:"command"`
}

// Made is what one step created. A step that made nothing (it failed, or
// the object existed already) returns the zero Made: there is nothing to
// undo, so nothing that existed before can be removed.
type Made struct {
	// What names the object for people: "volume pool/name".
	What string
	// Identity is the object's identity as recorded when it was made
	// (volume key, secret UUID, pool UUID, image id); the undo removes
	// only the object that still has it.
	Identity string
	// Command removes the object by hand (named when the undo fails).
	Command string
	// Undo removes the object after checking its identity; it returns an
	// error wrapping ErrNotOurs when the object is no longer this run's.
	Undo func(ctx context.Context) error
}

// Report is how a running step tells the runner what happens.
type Report struct {
	// Progress reports bytes done of total (measurable steps).
	Progress func(done, total uint64)
	// Retried: attempt (1-based, of the bound) failed for a transient
	// reason, cause, and is made again; brief names the cause in a few
	// words for the progress line (the log and audit get cause whole).
	Retried func(attempt, of int, brief string, cause error)
}

// Action is one step's work.
type Action struct {
	Step model.Step
	// Audit names the action in the audit log and Object its target;
	// empty Audit for read-only steps (verify).
	Audit, Object string
	Do            func(ctx context.Context, r Report) (Made, error)
}

// Runner executes plans. Its zero value runs without events, audit or log.
type Runner struct {
	// Host names the host in the audit log (its URI).
	Host   string
	Audit  *Audit
	Log    *slog.Logger
	Events chan<- Event
	// UndoTimeout bounds the whole rollback (default 10m).
	UndoTimeout time.Duration
	// FailAfter, when set, makes the plan fail right after that step
	// succeeded (tests of rollback).
	FailAfter model.StepID
}

type undoEntry struct {
	index  int
	action Action
	made   Made
}

func (r Runner) emit(e Event) {
	if r.Events != nil {
		r.Events <- e
	}
}

func (r Runner) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// Run executes the actions in order; on a failure or a cancel it undoes
// what this run made, in reverse, and returns the error with every
// leftover. A step runs to its end: libvirt and librbd cannot abort a
// call; cancellation is honoured between steps.
func (r Runner) Run(ctx context.Context, acts []Action) ([]Leftover, error) {
	var done []undoEntry
	for i, a := range acts {
		if err := ctx.Err(); err != nil {
			return r.rollback(done, fmt.Errorf("before %s: %w", a.Step.Title, ErrCancelled))
		}
		start := time.Now()
		r.emit(Event{Kind: StepStarted, Index: i, Step: a.Step})
		r.log().Info("step started", "step", a.Step.ID, "title", a.Step.Title)
		rep := Report{
			Progress: func(d, t uint64) {
				r.emit(Event{Kind: StepProgress, Index: i, Step: a.Step, Done: d, Total: t, Elapsed: time.Since(start)})
			},
			Retried: func(attempt, of int, brief string, cause error) {
				note := fmt.Sprintf("attempt %d of %d failed (%s); trying again", attempt, of, brief)
				r.log().Warn("step retried", "step", a.Step.ID, "attempt", attempt, "of", of, "err", cause)
				r.emit(Event{Kind: StepRetrying, Index: i, Step: a.Step, Err: cause, Elapsed: time.Since(start), Note: note})
				if a.Audit != "" {
					r.Record(a.Audit, a.Object, ResultRetried, cause, time.Since(start))
				}
			},
		}
		made, err := a.Do(context.WithoutCancel(ctx), rep)
		el := time.Since(start)
		if a.Audit != "" {
			r.Record(a.Audit, a.Object, resultOf(err), err, el)
		}
		if made.Undo != nil {
			done = append(done, undoEntry{index: i, action: a, made: made})
		}
		if err == nil && r.FailAfter != "" && r.FailAfter == a.Step.ID {
			err = fmt.Errorf("injected failure after %s", a.Step.ID)
		}
		if err == nil && ctx.Err() != nil {
			err = fmt.Errorf("during %s: %w", a.Step.Title, ErrCancelled)
		}
		if err != nil {
			r.log().Error("step failed", "step", a.Step.ID, "err", err)
			r.emit(Event{Kind: StepFailed, Index: i, Step: a.Step, Err: err, Elapsed: el})
			return r.rollback(done, err)
		}
		r.log().Info("step done", "step", a.Step.ID, "elapsed", el)
		ev := Event{Kind: StepDone, Index: i, Step: a.Step, Elapsed: el}
		if made.Undo != nil {
			ev.Made = &Leftover{What: made.What, Command: made.Command}
		}
		r.emit(ev)
	}
	return nil, nil
}

func resultOf(err error) string {
	if err != nil {
		return ResultFailed
	}
	return ResultOK
}

func (r Runner) rollback(done []undoEntry, cause error) ([]Leftover, error) {
	if len(done) == 0 {
		return nil, cause
	}
	r.emit(Event{Kind: RollbackStarted, Err: cause, Note: fmt.Sprintf("rolling back %d step(s)", len(done))})
	// Undo runs even when the plan's context was cancelled: that is what
	// a cancel asks for.
	timeout := r.UndoTimeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var left []Leftover
	var kept []string
	for k := len(done) - 1; k >= 0; k-- {
		u := done[k]
		start := time.Now()
		err := u.made.Undo(ctx)
		el := time.Since(start)
		audit := "undo " + u.action.Audit
		switch {
		case errors.Is(err, ErrNotOurs):
			if u.action.Audit != "" {
				r.Record(audit, u.action.Object, ResultKept, err, el)
			}
			note := fmt.Sprintf("left alone: %v", err)
			kept = append(kept, note)
			r.log().Warn("undo kept the object", "step", u.action.Step.ID, "err", err)
			r.emit(Event{Kind: UndoKept, Index: u.index, Step: u.action.Step, Err: err, Elapsed: el, Note: note})
		case err != nil:
			if u.action.Audit != "" {
				r.Record(audit, u.action.Object, ResultFailed, err, el)
			}
			l := Leftover{What: u.made.What, Command: u.made.Command}
			left = append(left, l)
			r.log().Error("undo failed", "step", u.action.Step.ID, "err", err)
			r.emit(Event{Kind: UndoFailed, Index: u.index, Step: u.action.Step, Err: err, Elapsed: el,
				Note: fmt.Sprintf("left: %s; remove it with: %s", l.What, l.Command)})
		default:
			if u.action.Audit != "" {
				r.Record(audit, u.action.Object, ResultOK, nil, el)
			}
			r.log().Info("step undone", "step", u.action.Step.ID)
			r.emit(Event{Kind: StepUndone, Index: u.index, Step: u.action.Step, Elapsed: el, Note: "removed " + u.made.What})
		}
	}
	var b strings.Builder
	for _, l := range left {
		fmt.Fprintf(&b, "\n  %s: %s", l.What, l.Command)
	}
	for _, k := range kept {
		fmt.Fprintf(&b, "\n  %s", k)
	}
	switch {
	case len(left) > 0:
		return left, fmt.Errorf("%w; rollback incomplete, left behind:%s", cause, b.String())
	case len(kept) > 0:
		return nil, fmt.Errorf("%w (rolled back what this run made;%s)", cause, b.String())
	}
	return nil, fmt.Errorf("%w (rolled back: nothing left)", cause)
}

// Record writes one audit line; a failed write is an AuditFailed event
// (the screen shows it) as well as a log line.
func (r Runner) Record(action, object, result string, err error, el time.Duration) {
	if r.Audit == nil {
		return
	}
	rec := Record{Host: r.Host, Action: action, Object: object, Result: result, DurationMS: el.Milliseconds()}
	if err != nil {
		rec.Error = err.Error()
	}
	if aerr := r.Audit.Append(rec); aerr != nil {
		r.log().Error("audit log", "err", aerr)
		r.emit(Event{Kind: AuditFailed, Index: -1, Err: aerr,
			Note: fmt.Sprintf("audit log: %v (the record for %q on %s is missing)", aerr, action, object)})
	}
}

// Refuse records a refusal (the admin asked for something stowage will
// not do) and returns why, unchanged.
func (r Runner) Refuse(action, object string, why error) error {
	r.Record(action, object, ResultRefused, why, 0)
	return why
}
