package driveprogress

import (
	"strings"
	"testing"

	"stowage/drive"
	"stowage/model"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/keys"
)

// The first Ctrl+C cancels; a second one in the same workflow quits the
// program at once (common.QuitMsg) with a report of what may be left: the
// finished step's object with its command, and the step still running.
func TestSecondCtrlCQuitsWithWhatIsLeft(t *testing.T) {
	plan := []model.Step{
		{ID: model.StepCreateSecret, Title: "create secret"},
		{ID: model.StepCreateVolume, Title: "create volume d1"},
		{ID: model.StepAttach, Title: "attach to vm1"},
	}
	p, _ := themes.Lookup("dark")
	m := New("create drive pool/d1", plan, nil, themes.Build(p, true), keys.Default().Progress)
	ch := make(chan drive.Event)
	cancels := 0
	m.events, m.cancel = ch, func() { cancels++ }
	feed := func(e drive.Event) { m.Update(eventMsg{Route: m.req.Latest(), ch: ch, e: e, ok: true}) }
	feed(drive.Event{Kind: drive.StepStarted, Index: 0, Step: plan[0]})
	feed(drive.Event{Kind: drive.StepDone, Index: 0, Step: plan[0],
		Made: &drive.Leftover{What: "secret 5a7d-x", Command: "virsh secret-undefine 5a7d-x"}})
	feed(drive.Event{Kind: drive.StepStarted, Index: 1, Step: plan[1]})
	feed(drive.Event{Kind: drive.StepDone, Index: 1, Step: plan[1],
		Made: &drive.Leftover{What: "volume pool/d1", Command: "virsh vol-delete --pool pool d1"}})
	feed(drive.Event{Kind: drive.StepStarted, Index: 2, Step: plan[2]})

	ctrlC := m.keys.Cancel
	if cmd := press(m, ctrlC); cmd != nil {
		if _, quit := cmd().(common.QuitMsg); quit {
			t.Fatal("the first ctrl+c quit instead of cancelling")
		}
	}
	if cancels != 1 || !m.Capturing() {
		t.Fatalf("first ctrl+c: cancels=%d capturing=%v", cancels, m.Capturing())
	}
	if !strings.Contains(m.View(), ctrlC.Help().Key+" again") {
		t.Errorf("the view does not say a second ctrl+c quits:\n%s", m.View())
	}
	// The rollback has begun: the volume is gone, the secret not yet.
	feed(drive.Event{Kind: drive.RollbackStarted, Note: "rolling back 2 step(s)"})
	feed(drive.Event{Kind: drive.StepUndone, Index: 1, Step: plan[1], Note: "removed volume pool/d1"})

	if m.keys.Quit.Keys()[0] != ctrlC.Keys()[0] {
		t.Fatalf("quit is bound to %v, cancel to %v", m.keys.Quit.Keys(), ctrlC.Keys())
	}
	cmd := press(m, ctrlC)
	if cmd == nil {
		t.Fatal("the second ctrl+c did nothing")
	}
	q, ok := cmd().(common.QuitMsg)
	if !ok {
		t.Fatalf("the second ctrl+c sent %T; want common.QuitMsg", cmd())
	}
	for _, want := range []string{"rollback was still running", "secret 5a7d-x: remove it with: virsh secret-undefine 5a7d-x", `"attach to vm1" was still running`} {
		if !strings.Contains(q.Report, want) {
			t.Errorf("report lacks %q:\n%s", want, q.Report)
		}
	}
	if strings.Contains(q.Report, "vol-delete") {
		t.Errorf("the report names the volume the rollback already removed:\n%s", q.Report)
	}
}

// Once the workflow finished, ctrl+c is the console's again (not captured).
func TestCtrlCAfterTheWorkflowIsNotCaptured(t *testing.T) {
	p, _ := themes.Lookup("dark")
	m := New("x", []model.Step{{ID: model.StepCreateSecret, Title: "s"}}, nil, themes.Build(p, true), keys.Default().Progress)
	ch := make(chan drive.Event)
	m.events, m.cancel = ch, func() {}
	m.Update(finishedMsg{Route: m.req.Latest(), ch: ch})
	if m.Capturing() || m.keys.Quit.Enabled() || m.keys.Cancel.Enabled() {
		t.Fatalf("finished: capturing=%v quit=%v cancel=%v", m.Capturing(), m.keys.Quit.Enabled(), m.keys.Cancel.Enabled())
	}
}
