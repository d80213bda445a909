package plan

import "context"

// Done is a step that an earlier Run finished, with what it made: a
// workflow in phases (LVM on iSCSI logs in, then builds) keeps the Done of
// its first phase so that a later failure can undo that phase too.
type Done struct {
	Index  int
	Action Action
	Made   Made
}

// Keep wraps an action so that what it makes is appended to *into when it
// succeeds (a Made with an Undo); pass the result to Undo later.
func Keep(a Action, index int, into *[]Done) Action {
	do := a.Do
	a.Do = func(ctx context.Context, r Report) (Made, error) {
		m, err := do(ctx, r)
		if m.Undo != nil {
			*into = append(*into, Done{Index: index, Action: a, Made: m})
		}
		return m, err
	}
	return a
}

// Undo rolls back, newest first, what earlier Runs made (done, in the order
// they were made), under the same rules as a failed Run: each undo checks
// its identity, ErrNotOurs keeps the object, every undo is audited and is
// an event. cause says why; the returned error wraps it and names what is
// left.
func (r Runner) Undo(cause error, done []Done) ([]Leftover, error) {
	entries := make([]undoEntry, len(done))
	for i, d := range done {
		entries[i] = undoEntry{index: d.Index, action: d.Action, made: d.Made}
	}
	return r.rollback(entries, cause)
}
