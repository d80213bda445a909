package app

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"stowage/drive"
	"stowage/model"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/driveprogress"
	"stowage/ui/iscsiwizard"
	"stowage/ui/keys"
	"stowage/ui/views/kind"
)

// ownerScreen asks for results through a common.Requests and records
// every message it is handed.
type ownerScreen struct {
	stubScreen
	req common.Requests
	got []tea.Msg
}

func (s *ownerScreen) Owns(r common.Route) (bool, bool) { return s.req.Owns(r) }
func (s *ownerScreen) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	s.got = append(s.got, msg)
	return s, nil
}

// recordingScreen is a screen without results of its own: it records what
// reaches it, to show what is not routed to it.
type recordingScreen struct {
	stubScreen
	got []tea.Msg
}

func (s *recordingScreen) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	s.got = append(s.got, msg)
	return s, nil
}

type answerMsg struct {
	common.Route
	text string
}

func newRouted(t *testing.T) *Model {
	f := &fake{uris: []string{"test:///one"}, parts: [][]model.Part{labHost()}, err: []error{nil}}
	return newModel(t, f, common.Actions{})
}

// A result for a screen under the top lands on that screen, not on the
// top one.
func TestResultForAScreenUnderTheTopLandsOnIt(t *testing.T) {
	m := newRouted(t)
	owner := &ownerScreen{stubScreen: stubScreen{title: "asker"}}
	r := owner.req.New()
	top := &recordingScreen{stubScreen: stubScreen{title: "describe"}}
	m.Update(common.PushMsg{Screen: owner})
	m.Update(common.PushMsg{Screen: top})
	m.Update(answerMsg{Route: r, text: "xml"})
	if len(owner.got) != 1 || owner.got[0].(answerMsg).text != "xml" {
		t.Fatalf("the owner under the top got %v", owner.got)
	}
	if len(top.got) != 0 {
		t.Fatalf("the top screen got another screen's result: %v", top.got)
	}
}

// A result of an older request, or of a screen that has closed, is
// dropped: no screen sees it.
func TestStaleResultIsDropped(t *testing.T) {
	m := newRouted(t)
	owner := &ownerScreen{stubScreen: stubScreen{title: "asker"}}
	old := owner.req.New()
	latest := owner.req.New()
	m.Update(common.PushMsg{Screen: owner})
	m.Update(answerMsg{Route: old, text: "stale"})
	if len(owner.got) != 0 {
		t.Fatalf("a stale result reached its owner: %v", owner.got)
	}
	m.Update(answerMsg{Route: latest, text: "fresh"})
	if len(owner.got) != 1 || owner.got[0].(answerMsg).text != "fresh" {
		t.Fatalf("the latest result did not land: %v", owner.got)
	}
	m.Update(common.PopMsg{})
	top := &recordingScreen{stubScreen: stubScreen{title: "next"}}
	m.Update(common.PushMsg{Screen: top})
	m.Update(answerMsg{Route: latest, text: "late"})
	if len(owner.got) != 1 || len(top.got) != 0 {
		t.Fatalf("a closed screen's result was delivered: owner %v, top %v", owner.got, top.got)
	}
}

// A drive workflow's progress keeps running while another screen covers
// it: every event and the end land on the progress view.
func TestProgressStreamContinuesUnderAnotherScreen(t *testing.T) {
	m := newRouted(t)
	plan := []model.Step{{ID: "secret", Title: "create secret"}, {ID: "volume", Title: "create volume"}}
	covered := make(chan struct{})
	run := func(ctx context.Context, ev chan<- drive.Event) (drive.Result, error) {
		<-covered // the events start only once another screen is on top
		for i, s := range plan {
			ev <- drive.Event{Kind: drive.StepStarted, Index: i, Step: s}
			ev <- drive.Event{Kind: drive.StepDone, Index: i, Step: s}
		}
		return drive.Result{Pool: "default", Name: "d"}, nil
	}
	pal, _ := themes.Lookup("dark")
	p := driveprogress.New("create drive default/d", plan, run, themes.Build(pal, true), keys.Default().Progress)
	_, start := m.Update(common.PushMsg{Screen: p})
	top := &recordingScreen{stubScreen: stubScreen{title: "over"}}
	m.Update(common.PushMsg{Screen: top})
	close(covered)
	drain(t, m, start)
	if m.Top() != top {
		t.Fatalf("top is %T", m.Top())
	}
	if !p.Finished() {
		t.Fatal("the covered workflow's end never reached its progress view")
	}
	if res, err := p.Result(); err != nil || res.Name != "d" {
		t.Fatalf("result %+v, %v", res, err)
	}
	if v := p.View(); strings.Count(v, "✓") != 2 {
		t.Fatalf("the covered view missed events:\n%s", v)
	}
	for _, msg := range top.got {
		if _, ok := msg.(common.Routed); ok {
			t.Fatalf("the top screen got the workflow's %T", msg)
		}
	}
}

// After a drive is created the browser re-reads the host and selects the
// new volume once the refresh shows it.
func TestDriveDoneSelectsTheNewVolume(t *testing.T) {
	f := &fake{uris: []string{"test:///one"}, parts: [][]model.Part{labHost()}, err: []error{nil}}
	m := newModel(t, f, common.Actions{})
	km := keys.Default()
	press(t, m, km.Enter) // the volumes of "default"
	l := topList(t, m)
	if l.Kind() != "volumes" {
		t.Fatalf("enter opened %s", l.Kind())
	}
	m.Update(common.PushMsg{Screen: &stubScreen{title: "create drive"}})
	parts := labHost()
	parts[2].Volumes = append(parts[2].Volumes, model.Volume{Name: "new.raw", Pool: "default", Path: "/p/new.raw", Capacity: 1 << 30, Format: "raw"})
	f.parts[0] = parts
	want := kind.RowKey(0, "default/new.raw")
	if k, _ := l.Table().SelectedKey(); k == want {
		t.Fatal("the new volume is selected before it exists")
	}
	_, cmd := m.Update(common.PopMsg{Result: driveprogress.DoneMsg{Action: "create drive default/new.raw",
		Result: drive.Result{Host: "test:///one", Pool: "default", Name: "new.raw"}}})
	drain(t, m, cmd)
	if k, _ := l.Table().SelectedKey(); k != want {
		t.Fatalf("selected %q after the create, want the new volume %q", k, want)
	}
	// A later refresh does not move a cursor the admin moved.
	press(t, m, km.Up)
	moved, _ := l.Table().SelectedKey()
	press(t, m, km.Refresh)
	if k, _ := l.Table().SelectedKey(); k != moved {
		t.Fatalf("a refresh moved the cursor to %q", k)
	}
}

// The LVM-on-iSCSI wizard's result selects its new pool in the browser.
func TestPoolReadySelectsThePool(t *testing.T) {
	f := &fake{uris: []string{"test:///one"}, parts: [][]model.Part{labHost()}, err: []error{nil}}
	m := newModel(t, f, common.Actions{})
	l := topList(t, m)
	if k, _ := l.Table().SelectedKey(); k != kind.RowKey(0, "default") {
		t.Fatalf("starts on %q", k)
	}
	m.Update(common.PushMsg{Screen: &stubScreen{title: "LVM on iSCSI"}})
	_, cmd := m.Update(common.PopMsg{Result: iscsiwizard.PoolReadyMsg{HostURI: "test:///one", Pool: "san"}})
	drain(t, m, cmd)
	if k, _ := l.Table().SelectedKey(); k != kind.RowKey(0, "san") {
		t.Fatalf("selected %q, want the new pool", k)
	}
}
