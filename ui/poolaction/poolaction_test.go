package poolaction

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"

	"stowage/model"
	"stowage/plan"
	"stowage/pool"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/keys"
	"stowage/ui/keys/keytest"
)

// fakeBackend answers Prepare from prep and records Run's calls.
type fakeBackend struct {
	mu    sync.Mutex
	prep  func(s pool.Spec) (pool.Prepared, error)
	specs []pool.Spec
	runs  []string
}

func (f *fakeBackend) Prepare(_ context.Context, s pool.Spec) (pool.Prepared, error) {
	f.mu.Lock()
	f.specs = append(f.specs, s)
	f.mu.Unlock()
	return f.prep(s)
}

func (f *fakeBackend) Run(_ context.Context, pr pool.Prepared, confirm string, _ chan<- plan.Event) (pool.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs = append(f.runs, fmt.Sprintf("%s %s uuid=%s confirm=%q overwrite=%v", pr.Spec.Verb(), pr.Pool.Name, pr.Pool.UUID, confirm, pr.Spec.Overwrite))
	return pool.Result{Pool: pr.Pool.Name, UUID: pr.Pool.UUID, Changed: true}, nil
}

func prepared(s pool.Spec) (pool.Prepared, error) {
	return pool.Prepared{Spec: s, Host: "h", Pool: model.Pool{Name: s.Pool, UUID: "u-1", Type: model.PoolDir},
		Steps: []model.Step{{ID: pool.StepStop, Title: "stop pool " + s.Pool}}}, nil
}

func open(t *testing.T, f *fakeBackend, action string) *Screen {
	t.Helper()
	p, _ := themes.Lookup("dark")
	d := Deps{Styles: themes.Build(p, true), Keys: keys.Default(), Backend: func(string) (Backend, error) { return f, nil }}
	s := New(d, common.DriveTarget{HostURI: "h", Pool: "data"}, action).(*Screen)
	// The check runs in the Cmd; its answer comes back as a message.
	s.Update(s.Init()())
	return s
}

// runProgress runs the workflow the progress view's Init batch started.
func runProgress(t *testing.T, cmd tea.Cmd) {
	t.Helper()
	if cmd == nil {
		t.Fatal("no progress started")
	}
	batch, ok := cmd().(tea.BatchMsg)
	if !ok {
		t.Fatal("the progress view did not start its run")
	}
	batch[0]()
}

func typeText(s *Screen, text string) {
	for _, r := range text {
		s.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func TestStopNeedsThePoolsNameTyped(t *testing.T) {
	f := &fakeBackend{prep: prepared}
	s := open(t, f, "stop")
	km := keys.Default()
	if !strings.Contains(s.View(), "uuid u-1") || !strings.Contains(s.View(), "stop pool data") || !strings.Contains(s.View(), keys.DangerMark) {
		t.Fatalf("the confirmation lacks the uuid, plan or danger mark:\n%s", s.View())
	}
	typeText(s, "dat")
	if _, cmd := s.Update(keytest.Press(km.Confirm.Confirm)); cmd != nil || s.progress != nil || !strings.Contains(s.View(), `type "data" exactly`) {
		t.Fatalf("a wrong name started the stop:\n%s", s.View())
	}
	typeText(s, "a")
	_, cmd := s.Update(keytest.Press(km.Confirm.Confirm))
	runProgress(t, cmd)
	if want := `stop data uuid=u-1 confirm="data" overwrite=false`; len(f.runs) != 1 || f.runs[0] != want {
		t.Fatalf("runs %q, want %q", f.runs, want)
	}
}

func TestStartRunsWithoutATypedName(t *testing.T) {
	f := &fakeBackend{prep: prepared}
	s := open(t, f, "start")
	if s.progress == nil {
		t.Fatalf("start waits for a confirmation:\n%s", s.View())
	}
	runProgress(t, s.progress.Init())
	if len(f.runs) != 1 || !strings.HasPrefix(f.runs[0], "start data uuid=u-1") {
		t.Fatalf("runs %q", f.runs)
	}
}

func TestAutostartOffClearsIt(t *testing.T) {
	f := &fakeBackend{prep: prepared}
	open(t, f, AutostartOff)
	if len(f.specs) != 1 || f.specs[0].Action != pool.Autostart || !f.specs[0].Off {
		t.Fatalf("specs %+v", f.specs)
	}
}

func TestRefusalAndAlreadyAreShownAndChangeNothing(t *testing.T) {
	km := keys.Default()
	f := &fakeBackend{prep: func(pool.Spec) (pool.Prepared, error) {
		return pool.Prepared{}, fmt.Errorf("%w: cannot delete pool data: VMs use it: web (disk vdb, in use now) on h", pool.ErrRefused)
	}}
	s := open(t, f, "delete")
	if v := s.View(); !strings.Contains(v, "web (disk vdb, in use now)") || !strings.Contains(v, "Nothing was changed") {
		t.Fatalf("refusal not shown:\n%s", v)
	}
	if s.keys.Confirm.Enabled() {
		t.Error("confirm offered on a refusal")
	}
	typeText(s, "data")
	s.Update(keytest.Press(km.Confirm.Confirm))
	if _, cmd := s.Update(keytest.Press(km.Confirm.Cancel)); cmd == nil {
		t.Fatal("esc does not close the refusal")
	} else if _, ok := cmd().(common.PopMsg); !ok {
		t.Fatal("esc does not pop")
	}
	if len(f.runs) > 0 {
		t.Fatalf("a refused action ran: %q", f.runs)
	}

	f = &fakeBackend{prep: func(s pool.Spec) (pool.Prepared, error) {
		return pool.Prepared{Spec: s, Pool: model.Pool{Name: s.Pool, UUID: "u-1"}, Already: "pool data is already running: nothing to do"}, nil
	}}
	s = open(t, f, "start")
	if s.progress != nil || !strings.Contains(s.View(), "already running") || len(f.runs) > 0 {
		t.Fatalf("already: progress %v, runs %q\n%s", s.progress != nil, f.runs, s.View())
	}
}

// The mode key turns overwrite on for build and checks again; the run
// then carries it.
func TestBuildOverwriteToggle(t *testing.T) {
	f := &fakeBackend{prep: prepared}
	s := open(t, f, "build")
	km := keys.Default()
	if !strings.Contains(s.View(), "off: libvirt refuses devices") {
		t.Fatalf("build screen:\n%s", s.View())
	}
	_, cmd := s.Update(keytest.Press(km.Confirm.Mode))
	s.Update(cmd())
	if len(f.specs) != 2 || !f.specs[1].Overwrite || !strings.Contains(s.View(), "ON: what the devices hold is lost") {
		t.Fatalf("specs %+v\n%s", f.specs, s.View())
	}
	typeText(s, "data")
	_, cmd = s.Update(keytest.Press(km.Confirm.Confirm))
	runProgress(t, cmd)
	if len(f.runs) != 1 || !strings.HasSuffix(f.runs[0], "overwrite=true") {
		t.Fatalf("runs %q", f.runs)
	}
}

// A stale check (the admin toggled overwrite before the first answer)
// is dropped.
func TestStaleCheckDropped(t *testing.T) {
	f := &fakeBackend{prep: prepared}
	p, _ := themes.Lookup("dark")
	s := New(Deps{Styles: themes.Build(p, true), Backend: func(string) (Backend, error) { return f, nil }},
		common.DriveTarget{HostURI: "h", Pool: "data"}, "build").(*Screen)
	first := s.Init()
	second := s.prepare()
	s.Update(first())
	if s.pr != nil {
		t.Fatal("a superseded check was applied")
	}
	s.Update(second())
	if s.pr == nil {
		t.Fatal("the latest check was dropped")
	}
	if _, err := SpecFor("data", "explode"); err == nil || !strings.Contains(err.Error(), "unknown pool action") {
		t.Fatal("an unknown action was accepted")
	}
}
