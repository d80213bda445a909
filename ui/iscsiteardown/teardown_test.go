package iscsiteardown

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"

	"stowage/iscsi"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/keys"
	"stowage/ui/keys/keytest"
)

// fake is a Backend whose preview and run are set by the test; it
// records the confirmations it was run with.
type fake struct {
	pv         iscsi.TeardownPreview
	previewErr error
	steps      []iscsi.Step
	res        iscsi.TeardownResult
	runErr     error

	mu   sync.Mutex
	runs []string
}

func (f *fake) Preview(context.Context, string) (iscsi.TeardownPreview, error) {
	return f.pv, f.previewErr
}

func (f *fake) Run(_ context.Context, pv iscsi.TeardownPreview, confirm string, progress func(iscsi.Step)) (iscsi.TeardownResult, error) {
	f.mu.Lock()
	f.runs = append(f.runs, confirm)
	f.mu.Unlock()
	for _, st := range f.steps {
		progress(st)
	}
	return f.res, f.runErr
}

func preview() iscsi.TeardownPreview {
	return iscsi.TeardownPreview{Host: "qemu+ssh://hv/system", Logical: &iscsi.PoolRef{Name: "san-lvm", UUID: "u1", Active: true},
		VG: "vg_san", LVs: []iscsi.LV{{Name: "data", Capacity: 1 << 30}}, ISCSI: &iscsi.PoolRef{Name: "san-lvm-luns", UUID: "u2", Active: true},
		Items: []iscsi.TeardownItem{{What: "drive data (LV vg_san/data, 1.0 GiB)", Command: "lvremove vg_san/data"},
			{What: "iscsi pool san-lvm-luns", Command: "virsh pool-undefine san-lvm-luns"}}}
}

func newModel(f *fake) (*Model, keys.Map) {
	km := keys.Default()
	pal, _ := themes.Lookup("dark")
	m := New(Deps{At: common.DriveTarget{HostURI: "qemu+ssh://hv/system", Pool: "san-lvm"}, Backend: f,
		Styles: themes.Build(pal, true), Keys: km.Confirm, Close: km.Progress.Close})
	m.SetSize(100, 40)
	return m, km
}

// feed runs cmd and every Cmd it leads to, feeding the screen its own
// messages (not the cursor's blinks); it returns the PopMsg if one came.
func feed(t *testing.T, m *Model, cmd tea.Cmd) *common.PopMsg {
	t.Helper()
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case common.PopMsg:
		return &msg
	case tea.BatchMsg:
		var pop *common.PopMsg
		for _, c := range msg {
			if p := feed(t, m, c); p != nil {
				pop = p
			}
		}
		return pop
	case previewMsg, stepMsg, doneMsg:
		_, next := m.Update(msg)
		return feed(t, m, next)
	}
	return nil
}

func typeText(m *Model, s string) {
	for _, r := range s {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func TestPreviewThenTypedConfirmationRuns(t *testing.T) {
	f := &fake{pv: preview(), steps: []iscsi.Step{
		{ID: iscsi.StepStopLogical, Title: "stop logical pool san-lvm", Status: iscsi.StepRunning},
		{ID: iscsi.StepStopLogical, Title: "stop logical pool san-lvm", Virsh: "virsh pool-destroy san-lvm", Status: iscsi.StepDone},
		{Title: "iscsi pool san-lvm-luns", Status: iscsi.StepExisted, Error: "left alone: pool san-lvm-luns now has UUID u3"},
	}, res: iscsi.TeardownResult{LeftAlone: []string{"left alone: pool san-lvm-luns now has UUID u3"}}}
	m, km := newModel(f)
	feed(t, m, m.Init())
	if m.stage != previewing {
		t.Fatalf("after the preview loaded: stage %d, error %v", m.stage, m.loadErr)
	}
	v := m.View()
	for _, want := range []string{"lvremove vg_san/data", "virsh pool-undefine san-lvm-luns", "1 drive(s) in VG vg_san", `Type "san-lvm"`} {
		if !strings.Contains(v, want) {
			t.Errorf("preview lacks %q:\n%s", want, v)
		}
	}
	// A wrong name: refused on screen, nothing run.
	typeText(m, "san-lv")
	_, cmd := m.Update(keytest.Press(km.Confirm.Confirm))
	if cmd != nil || len(f.runs) != 0 || !strings.Contains(m.View(), `type "san-lvm" exactly`) {
		t.Fatalf("a wrong name ran the teardown (runs %v) or said nothing:\n%s", f.runs, m.View())
	}
	typeText(m, "m")
	_, cmd = m.Update(keytest.Press(km.Confirm.Confirm))
	if m.stage != running || cmd == nil {
		t.Fatalf("the right name did not start the run: stage %d", m.stage)
	}
	if pop := feed(t, m, cmd); pop != nil {
		t.Fatal("the run closed the screen by itself")
	}
	if m.stage != finished || len(f.runs) != 1 || f.runs[0] != "san-lvm" {
		t.Fatalf("stage %d, runs %v", m.stage, f.runs)
	}
	if len(m.steps) != 2 || m.steps[0].Status != iscsi.StepDone {
		t.Errorf("the running line should be replaced by its end: %+v", m.steps)
	}
	v = m.View()
	if !strings.Contains(v, "torn down: san-lvm") || !strings.Contains(v, "left alone: pool san-lvm-luns now has UUID u3") {
		t.Errorf("result view:\n%s", v)
	}
	// Typing keys do nothing now; Confirm is disabled; Close pops with the result.
	if _, cmd := m.Update(keytest.Press(km.Confirm.Confirm)); cmd != nil && km.Confirm.Confirm.Keys()[0] != km.Progress.Close.Keys()[0] {
		t.Error("Confirm after the run did something")
	}
	_, cmd = m.Update(keytest.Press(km.Progress.Close))
	pop := feed(t, m, cmd)
	if pop == nil {
		t.Fatal("Close did not close the screen")
	}
	done, ok := pop.Result.(DoneMsg)
	if !ok || done.Pool != "san-lvm" || done.Err != nil || len(done.Result.LeftAlone) != 1 {
		t.Fatalf("pop result: %#v", pop.Result)
	}
}

func TestCancelBeforeConfirmChangesNothing(t *testing.T) {
	f := &fake{pv: preview()}
	m, km := newModel(f)
	feed(t, m, m.Init())
	typeText(m, "san-lvm")
	_, cmd := m.Update(keytest.Press(km.Confirm.Cancel))
	pop := feed(t, m, cmd)
	if pop == nil || pop.Result != nil || len(f.runs) != 0 {
		t.Fatalf("cancel: pop %+v, runs %v", pop, f.runs)
	}
}

func TestPreviewRefusalShownAndNothingOffered(t *testing.T) {
	f := &fake{previewErr: errors.New(`VMs use the storage being torn down: VM web (shut off) disk vda → /dev/vg_san/data on this host`)}
	m, km := newModel(f)
	feed(t, m, m.Init())
	v := m.View()
	if !strings.Contains(v, "VM web (shut off)") || !strings.Contains(v, "Nothing was changed") {
		t.Errorf("refusal view:\n%s", v)
	}
	if km := m.ShortHelp(); len(km) != 1 {
		t.Errorf("a refused preview offers only cancel, got %d bindings", len(km))
	}
	typeText(m, "san-lvm")
	if _, cmd := m.Update(keytest.Press(km.Confirm.Confirm)); cmd != nil || len(f.runs) != 0 {
		t.Fatal("confirm after a refused preview ran something")
	}
}

func TestStalePreviewDropped(t *testing.T) {
	f := &fake{pv: preview()}
	m, _ := newModel(f)
	m.Init()
	stale := m.req.Latest()
	m.req.New() // a newer request (as a reload would make)
	m.Update(previewMsg{Route: stale, pv: preview()})
	if m.stage != loading {
		t.Fatalf("a stale preview was taken: stage %d", m.stage)
	}
	if mine, cur := m.Owns(stale); !mine || cur {
		t.Errorf("Owns(stale) = %v, %v", mine, cur)
	}
}

func TestFailedRunShowsWhatIsLeft(t *testing.T) {
	f := &fake{pv: preview(), runErr: errors.New("teardown stopped: delete VG vg_san: busy\nleft to do by hand: virsh pool-delete san-lvm; virsh pool-undefine san-lvm")}
	m, km := newModel(f)
	feed(t, m, m.Init())
	typeText(m, "san-lvm")
	_, cmd := m.Update(keytest.Press(km.Confirm.Confirm))
	feed(t, m, cmd)
	if v := m.View(); !strings.Contains(v, "left to do by hand: virsh pool-delete san-lvm") {
		t.Errorf("failed run view:\n%s", v)
	}
	_, cmd = m.Update(keytest.Press(km.Progress.Close))
	if pop := feed(t, m, cmd); pop == nil || pop.Result.(DoneMsg).Err == nil {
		t.Fatalf("close after a failure: %+v", pop)
	}
}

// Many drives on a small screen: each is still named (with its size), in
// one paragraph, and the name to type stays on screen.
func TestManyDrivesNamedCompactly(t *testing.T) {
	pv := preview()
	pv.LVs, pv.Items = nil, pv.Items[1:]
	var items []iscsi.TeardownItem
	for i := range 40 {
		name := "d" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		pv.LVs = append(pv.LVs, iscsi.LV{Name: name, Capacity: 1 << 30})
		items = append(items, iscsi.TeardownItem{What: "drive " + name, Command: "lvremove vg_san/" + name})
	}
	pv.Items = append(items, pv.Items...)
	m, _ := newModel(&fake{pv: pv})
	m.SetSize(80, 30)
	feed(t, m, m.Init())
	v := m.View()
	if n := strings.Count(v, "\n"); n > 30 {
		t.Errorf("the preview takes %d lines on a 30-line screen:\n%s", n, v)
	}
	for _, lv := range pv.LVs {
		if !strings.Contains(v, lv.Name+" (1.0 GiB)") {
			t.Errorf("drive %s is not named:\n%s", lv.Name, v)
		}
	}
	if !strings.Contains(v, "40 drives in VG vg_san") || !strings.Contains(v, `Type "san-lvm"`) {
		t.Errorf("compact preview:\n%s", v)
	}
}
