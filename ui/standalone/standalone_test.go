package standalone

import (
	"reflect"
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"stowage/ui/common"
	"stowage/ui/keys"
	"stowage/ui/keys/keytest"
)

// screen is a component that records what reaches it.
type screen struct {
	name      string
	capturing bool
	got       []tea.Msg
	// onCtrlC is its answer to ctrl+c (a drive workflow's report).
	onCtrlC tea.Cmd
	focused bool
	w, h    int
}

func (s *screen) Init() tea.Cmd { return nil }
func (s *screen) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	s.got = append(s.got, msg)
	if k, ok := msg.(tea.KeyPressMsg); ok && k.String() == "ctrl+c" {
		return s, s.onCtrlC
	}
	return s, nil
}
func (s *screen) View() string              { return s.name }
func (s *screen) SetSize(w, h int)          { s.w, s.h = w, h }
func (s *screen) Focus()                    { s.focused = true }
func (s *screen) Blur()                     { s.focused = false }
func (s *screen) ShortHelp() []key.Binding  { return nil }
func (s *screen) FullHelp() [][]key.Binding { return nil }
func (s *screen) Capturing() bool           { return s.capturing }

// run follows cmd's messages (batches and sequences included) and reports
// whether they end the program; other messages are fed back to m.
func run(t *testing.T, m *Model, cmd tea.Cmd) bool {
	t.Helper()
	for range 10 {
		if cmd == nil {
			return false
		}
		msg := cmd()
		if _, ok := msg.(tea.QuitMsg); ok {
			return true
		}
		if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice {
			for i := range v.Len() {
				c, _ := v.Index(i).Interface().(tea.Cmd)
				if run(t, m, c) {
					return true
				}
			}
			return false
		}
		_, cmd = m.Update(msg)
	}
	t.Fatal("the commands never settle")
	return false
}

func TestQuitBindingFromTheKeymap(t *testing.T) {
	km := keys.Default()
	s := &screen{name: "wizard"}
	m := New(s, km.Quit)
	if _, cmd := m.Update(keytest.Press(km.Quit)); !run(t, m, cmd) {
		t.Error("the keymap's quit binding did not quit")
	}
	// Remapped quit: the old key reaches the screen, the new one quits.
	if err := km.Remap(map[string][]string{"quit": {"ctrl+q"}}); err != nil {
		t.Fatal(err)
	}
	s = &screen{name: "wizard"}
	m = New(s, km.Quit)
	if _, cmd := m.Update(keytest.Press(keys.Default().Quit)); run(t, m, cmd) || len(s.got) != 1 {
		t.Errorf("q quit after quit was remapped to ctrl+q (screen got %v)", s.got)
	}
	if _, cmd := m.Update(keytest.Key("ctrl+q")); !run(t, m, cmd) {
		t.Error("the remapped quit key did not quit")
	}
}

// A screen that captures keys gets quit's keys (typed text); ctrl+c twice
// in a row quits whatever the screen does with it, after the screen's own
// answer (a workflow's report) was taken.
func TestCapturingScreenAndSecondCtrlC(t *testing.T) {
	km := keys.Default()
	s := &screen{name: "form", capturing: true}
	m := New(s, km.Quit)
	if _, cmd := m.Update(keytest.Press(km.Quit)); run(t, m, cmd) || len(s.got) != 1 {
		t.Fatalf("q quit a form that captures keys (screen got %v)", s.got)
	}
	if _, cmd := m.Update(keytest.Key("ctrl+c")); run(t, m, cmd) {
		t.Fatal("a first ctrl+c quit while the screen captures keys")
	}
	if _, cmd := m.Update(keytest.Key("x")); run(t, m, cmd) {
		t.Fatal("x quit")
	}
	if _, cmd := m.Update(keytest.Key("ctrl+c")); run(t, m, cmd) {
		t.Fatal("ctrl+c after another key counted as a second ctrl+c")
	}
	if _, cmd := m.Update(keytest.Key("ctrl+c")); !run(t, m, cmd) {
		t.Fatal("a second ctrl+c in a row did not quit (a screen that ignores ctrl+c)")
	}

	// A drive workflow answers the second ctrl+c with its report.
	s = &screen{name: "progress", capturing: true, onCtrlC: common.Quit("left: volume v\n")}
	m = New(s, km.Quit)
	m.Update(keytest.Key("ctrl+c"))
	_, cmd := m.Update(keytest.Key("ctrl+c"))
	if !run(t, m, cmd) {
		t.Fatal("the second ctrl+c did not quit")
	}
	if m.Report != "left: volume v\n" {
		t.Errorf("report %q; want the workflow's", m.Report)
	}
}

func TestPushPopAndResult(t *testing.T) {
	km := keys.Default()
	first, second := &screen{name: "wizard"}, &screen{name: "progress"}
	m := New(first, km.Quit)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(common.PushMsg{Screen: second})
	if m.View().Content != "progress" || second.w != 80 || !second.focused || first.focused {
		t.Fatalf("after push: view %q, size %dx%d, focus %v/%v", m.View().Content, second.w, second.h, first.focused, second.focused)
	}
	type done struct{}
	if _, cmd := m.Update(common.PopMsg{Result: done{}}); run(t, m, cmd) {
		t.Fatal("popping the second screen quit")
	}
	if m.View().Content != "wizard" || !first.focused || len(first.got) == 0 || first.got[len(first.got)-1] != (done{}) {
		t.Fatalf("after pop: view %q, first got %v", m.View().Content, first.got)
	}
	if _, cmd := m.Update(common.PopMsg{Result: done{}}); !run(t, m, cmd) {
		t.Fatal("popping the last screen did not quit")
	}
	if m.Result != (done{}) {
		t.Errorf("result %v", m.Result)
	}
}
