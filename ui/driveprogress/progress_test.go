package driveprogress

import (
	"context"
	"errors"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"stowage/drive"
	"stowage/model"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/keys"
	"stowage/ui/keys/keytest"
)

// press presses b's first key, enabled or not (the view decides).
func press(m *Model, b key.Binding) tea.Cmd {
	_, cmd := m.Update(keytest.Press(b))
	return cmd
}

func TestProgressStepsCancelAndClose(t *testing.T) {
	plan := []model.Step{{ID: model.StepCreateSecret, Title: "create secret"}, {ID: model.StepCreateVolume, Title: "create volume", Measurable: true}}
	p, _ := themes.Lookup("dark")
	m := New("create drive", plan, nil, themes.Build(p, true), keys.Default().Progress)
	ch := make(chan drive.Event)
	cancelled := false
	m.events, m.cancel = ch, func() { cancelled = true }
	feed := func(e drive.Event) { m.Update(eventMsg{Route: m.req.Latest(), ch: ch, e: e, ok: true}) }
	feed(drive.Event{Kind: drive.StepStarted, Index: 0, Step: plan[0]})
	feed(drive.Event{Kind: drive.StepDone, Index: 0, Step: plan[0]})
	feed(drive.Event{Kind: drive.StepStarted, Index: 1, Step: plan[1]})
	feed(drive.Event{Kind: drive.StepProgress, Index: 1, Step: plan[1], Done: 1 << 20, Total: 4 << 20})
	if v := m.View(); !strings.Contains(v, "✓ create secret") || !strings.Contains(v, "1.0 MiB / 4.0 MiB") {
		t.Fatalf("view:\n%s", v)
	}
	if !m.Capturing() {
		t.Error("a running workflow does not capture keys: the console would quit on ctrl+c")
	}
	// Keys follow state: close is disabled while running.
	if press(m, m.keys.Close) != nil {
		t.Error("enter closed a running workflow")
	}
	press(m, m.keys.Cancel)
	if !cancelled || m.keys.Cancel.Enabled() {
		t.Fatalf("ctrl+c: cancelled=%v, cancel still enabled=%v", cancelled, m.keys.Cancel.Enabled())
	}
	feed(drive.Event{Kind: drive.StepFailed, Index: 1, Step: plan[1], Err: drive.ErrCancelled})
	feed(drive.Event{Kind: drive.StepUndone, Index: 0, Step: plan[0], Note: "removed secret x"})
	// A stale event (another request of this view) is dropped.
	m.Update(eventMsg{Route: common.Route{Owner: m.req.Latest().Owner, Req: 99}, ch: make(chan drive.Event), e: drive.Event{Kind: drive.StepDone, Index: 1}, ok: true})
	m.Update(finishedMsg{Route: m.req.Latest(), ch: ch, err: errors.New("cancelled (rolled back: nothing left)")})
	v := m.View()
	if !strings.Contains(v, "↺ create secret") || !strings.Contains(v, "removed secret x") || !strings.Contains(v, "rolled back") || strings.Contains(v, "✓ create volume") {
		t.Fatalf("view after rollback:\n%s", v)
	}
	if m.Capturing() {
		t.Error("a finished workflow still captures every key")
	}
	cmd := press(m, m.keys.Close)
	if cmd == nil {
		t.Fatal("close key does nothing once finished")
	}
	pop, ok := cmd().(common.PopMsg)
	if done, ok2 := pop.Result.(DoneMsg); !ok || !ok2 || done.Err == nil {
		t.Fatalf("close = %#v; want a PopMsg with the DoneMsg", pop)
	}
}

func TestProgressRunsWorkflow(t *testing.T) {
	plan := []model.Step{{ID: model.StepVerify, Title: "verify"}}
	run := func(ctx context.Context, ev chan<- drive.Event) (drive.Result, error) {
		ev <- drive.Event{Kind: drive.StepStarted, Index: 0, Step: plan[0]}
		ev <- drive.Event{Kind: drive.StepDone, Index: 0, Step: plan[0]}
		return drive.Result{Name: "d"}, nil
	}
	p, _ := themes.Lookup("dark")
	m := New("x", plan, run, themes.Build(p, true), keys.Default().Progress)
	batch, ok := m.Init()().(tea.BatchMsg)
	if !ok || len(batch) < 2 {
		t.Fatalf("Init does not start the workflow and its listener")
	}
	fin := make(chan tea.Msg, 1)
	go func() { fin <- batch[0]() }() // the workflow
	ch := m.events
	// Drive the listener by hand: the same messages the runtime would get.
	for {
		msg := listen(m.req.Latest(), ch)()
		if em := msg.(eventMsg); !em.ok {
			break
		}
		m.Update(msg)
	}
	m.Update(<-fin)
	if !m.Finished() || m.lines[0].state != done {
		t.Errorf("step state %v, want done", m.lines[0].state)
	}
}

// A retry is a line under its step, and a long failure is wrapped to the
// view's width with its cause (libvirt puts it last) on screen, not cut.
func TestProgressShowsRetriesAndTheWholeCause(t *testing.T) {
	plan := []model.Step{{ID: model.StepCreateVolume, Title: "create volume v and format LUKS (qemu-img)", Measurable: true}}
	p, _ := themes.Lookup("dark")
	m := New("create drive", plan, nil, themes.Build(p, true), keys.Default().Progress)
	m.SetSize(70, 20)
	ch := make(chan drive.Event)
	m.events, m.cancel = ch, func() {}
	feed := func(e drive.Event) { m.Update(eventMsg{Route: m.req.Latest(), ch: ch, e: e, ok: true}) }
	feed(drive.Event{Kind: drive.StepStarted, Index: 0, Step: plan[0]})
	feed(drive.Event{Kind: drive.StepRetrying, Index: 0, Step: plan[0], Note: "attempt 1 of 8 failed (QEMU could not time its LUKS key derivation: Unable to get accurate CPU usage); trying again"})
	cause := "internal error: Child process (/usr/bin/qemu-img create -f raw -o encrypt.format=luks /var/lib/libvirt/images/v 8M) unexpected exit status 1: qemu-img: /var/lib/libvirt/images/v: Unable to get accurate CPU usage"
	feed(drive.Event{Kind: drive.StepFailed, Index: 0, Step: plan[0], Err: errors.New(cause)})
	m.Update(finishedMsg{Route: m.req.Latest(), ch: ch, err: errors.New(cause)})
	v := m.View()
	for _, l := range strings.Split(v, "\n") {
		if w := ansi.StringWidth(l); w > 70 {
			t.Errorf("line wider than the view (%d > 70): %q", w, l)
		}
	}
	v = ansi.Strip(v)
	flat := strings.Join(strings.Fields(v), " ")
	if !strings.Contains(flat, "↻ attempt 1 of 8 failed") || strings.Count(flat, "Unable to get accurate CPU usage") != 3 {
		t.Errorf("view lacks the retry line or the cause (want it in the retry, the step and the result):\n%s", v)
	}
}

// The hints are the keymap's bindings: a remap shows on screen, and the
// remapped key is the one that cancels.
func TestRemappedCancelIsHintedAndWorks(t *testing.T) {
	km := keys.Default()
	if err := km.Remap(map[string][]string{"progress.cancel": {"ctrl+g"}}); err != nil {
		t.Fatal(err)
	}
	p, _ := themes.Lookup("dark")
	m := New("x", []model.Step{{ID: model.StepVerify, Title: "verify"}}, nil, themes.Build(p, true), km.Progress)
	m.events, m.cancel = make(chan drive.Event), func() {}
	if v := m.View(); !strings.Contains(v, "ctrl+g: cancel and roll back") || strings.Contains(v, "ctrl+c") {
		t.Fatalf("hint does not follow the remap:\n%s", v)
	}
	press(m, km.Progress.Cancel)
	if !m.cancelling || !strings.Contains(m.View(), "ctrl+g again") {
		t.Errorf("the remapped key did not cancel:\n%s", m.View())
	}
}
