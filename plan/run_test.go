package plan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"stowage/model"
)

// world is a pretend host: names of what exists, with an identity each.
type world struct {
	objects map[string]string // name -> identity
	log     []string
}

func (w *world) create(name, id string) Action {
	return Action{Step: model.Step{ID: model.StepID("make-" + name), Title: "make " + name}, Audit: "make", Object: name,
		Do: func(context.Context, Report) (Made, error) {
			if _, ok := w.objects[name]; ok {
				return Made{}, fmt.Errorf("%s exists already", name)
			}
			w.objects[name] = id
			w.log = append(w.log, "make "+name)
			return Made{What: name, Identity: id, Command: "rm " + name, Undo: func(context.Context) error {
				if w.objects[name] != id {
					return fmt.Errorf("%s has identity %q, this run made %q: %w", name, w.objects[name], id, ErrNotOurs)
				}
				delete(w.objects, name)
				w.log = append(w.log, "remove "+name)
				return nil
			}}, nil
		}}
}

func failing(msg string) Action {
	return Action{Step: model.Step{ID: "fail", Title: "fail"}, Audit: "fail", Object: "x",
		Do: func(context.Context, Report) (Made, error) { return Made{}, errors.New(msg) }}
}

func records(t *testing.T, a *Audit) []string {
	t.Helper()
	b, err := os.ReadFile(a.Path())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.Contains(l, `"user":"`+localUser()+`"`) {
			t.Errorf("record without the local user: %s", l)
		}
		out = append(out, l)
	}
	return out
}

func TestRollbackUndoesOnlyWhatThisRunMade(t *testing.T) {
	w := &world{objects: map[string]string{"theirs": "their-id"}}
	a := NewAudit(filepath.Join(t.TempDir(), "audit.jsonl"))
	r := Runner{Host: "h", Audit: a}
	// "theirs" exists already: its create fails, and nothing of it is undone.
	_, err := r.Run(context.Background(), []Action{w.create("a", "id-a"), w.create("b", "id-b"), w.create("theirs", "mine")})
	if err == nil || !strings.Contains(err.Error(), "theirs exists already") || !strings.Contains(err.Error(), "nothing left") {
		t.Fatalf("err %v; want the collision, rolled back with nothing left", err)
	}
	if want := []string{"make a", "make b", "remove b", "remove a"}; !slices.Equal(w.log, want) {
		t.Errorf("log %v, want %v", w.log, want)
	}
	if w.objects["theirs"] != "their-id" || len(w.objects) != 1 {
		t.Errorf("objects after rollback: %v; want only theirs, untouched", w.objects)
	}
	recs := records(t, a)
	if len(recs) != 5 || !strings.Contains(recs[2], `"result":"failed"`) || !strings.Contains(recs[4], `"action":"undo make","object":"a","result":"ok"`) {
		t.Errorf("audit:\n%s", strings.Join(recs, "\n"))
	}
}

func TestUndoLeavesAReplacedObjectAlone(t *testing.T) {
	w := &world{objects: map[string]string{}}
	a := NewAudit(filepath.Join(t.TempDir(), "audit.jsonl"))
	events := make(chan Event, 32)
	r := Runner{Audit: a, Events: events}
	replace := Action{Step: model.Step{ID: "other-admin", Title: "another admin replaces a"},
		Do: func(context.Context, Report) (Made, error) {
			w.objects["a"] = "their-id"
			return Made{}, errors.New("boom")
		}}
	left, err := r.Run(context.Background(), []Action{w.create("a", "id-a"), replace})
	close(events)
	if len(left) != 0 || err == nil || !strings.Contains(err.Error(), "left alone") {
		t.Fatalf("left %v, err %v; want no leftover and 'left alone' in the error", left, err)
	}
	if w.objects["a"] != "their-id" {
		t.Errorf("the other admin's a was removed: %v", w.objects)
	}
	var kept bool
	for e := range events {
		kept = kept || (e.Kind == UndoKept && errors.Is(e.Err, ErrNotOurs))
	}
	recs := records(t, a)
	if !kept || !strings.Contains(recs[len(recs)-1], `"result":"kept"`) {
		t.Errorf("kept event %v, audit:\n%s", kept, strings.Join(recs, "\n"))
	}
}

func TestFailedUndoNamesWhatIsLeftAndTheCommand(t *testing.T) {
	a := Action{Step: model.Step{ID: "s", Title: "s"}, Audit: "make", Object: "o",
		Do: func(context.Context, Report) (Made, error) {
			return Made{What: "volume p/o", Command: "virsh vol-delete --pool p o",
				Undo: func(context.Context) error { return errors.New("connection lost") }}, nil
		}}
	left, err := Runner{}.Run(context.Background(), []Action{a, failing("later step failed")})
	if len(left) != 1 || left[0].Command != "virsh vol-delete --pool p o" ||
		!strings.Contains(err.Error(), "later step failed") || !strings.Contains(err.Error(), "volume p/o: virsh vol-delete --pool p o") {
		t.Fatalf("left %v, err %v", left, err)
	}
}

func TestCancelStopsBetweenStepsAndRollsBack(t *testing.T) {
	w := &world{objects: map[string]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	stop := Action{Step: model.Step{ID: "cancel", Title: "cancel"},
		Do: func(context.Context, Report) (Made, error) { cancel(); return Made{}, nil }}
	_, err := Runner{}.Run(ctx, []Action{w.create("a", "1"), stop, w.create("b", "2")})
	if !errors.Is(err, ErrCancelled) || len(w.objects) != 0 || slices.Contains(w.log, "make b") {
		t.Fatalf("err %v, objects %v, log %v; want cancelled, a removed, b never made", err, w.objects, w.log)
	}
}

func TestAuditWriteFailureIsAnEvent(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	events := make(chan Event, 16)
	r := Runner{Audit: NewAudit(filepath.Join(blocker, "audit.jsonl")), Events: events}
	w := &world{objects: map[string]string{}}
	if _, err := r.Run(context.Background(), []Action{w.create("a", "1")}); err != nil {
		t.Fatal(err)
	}
	close(events)
	var note string
	for e := range events {
		if e.Kind == AuditFailed {
			note = e.Note
		}
	}
	if !strings.Contains(note, "audit log") || !strings.Contains(note, `"make" on a`) || !strings.Contains(note, "not a directory") {
		t.Errorf("audit failure note %q; want it to name the log, the record and the cause", note)
	}
}

func TestRefuseIsAudited(t *testing.T) {
	a := NewAudit(filepath.Join(t.TempDir(), "audit.jsonl"))
	why := errors.New("drive p/v is in use by vm1:vdb (live)")
	if err := (Runner{Host: "h", Audit: a}).Refuse("delete volume", "p/v", why); err != why {
		t.Fatalf("Refuse returned %v", err)
	}
	recs := records(t, a)
	if len(recs) != 1 || !strings.Contains(recs[0], `"result":"refused"`) || !strings.Contains(recs[0], "in use by vm1:vdb") {
		t.Errorf("audit:\n%s", strings.Join(recs, "\n"))
	}
}
