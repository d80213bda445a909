package app

import (
	"testing"

	tea "charm.land/bubbletea/v2"

	"stowage/model"
	"stowage/ui/common"
)

// A screen's QuitMsg (the second Ctrl+C during a workflow) quits the
// console even under a capturing screen, keeping the report for main to
// print after the terminal is restored.
func TestQuitMsgQuitsUnderAWorkflowAndKeepsTheReport(t *testing.T) {
	f := &fake{uris: []string{"test:///one"}, parts: [][]model.Part{labHost()}, err: []error{nil}}
	m := newModel(t, f, common.Actions{})
	m.Update(common.PushMsg{Screen: &capturingScreen{stubScreen: stubScreen{title: "running"}}})
	if m.ExitReport() != "" {
		t.Fatal("a report before any quit")
	}
	const report = "stowage quit during \"create drive p/d1\" while its rollback was still running; what may be left:\n  secret x: remove it with: virsh secret-undefine x\n"
	_, cmd := m.Update(common.QuitMsg{Report: report})
	if cmd == nil {
		t.Fatal("QuitMsg returned no command")
	}
	if _, quit := cmd().(tea.QuitMsg); !quit {
		t.Fatalf("QuitMsg led to %T; want tea.QuitMsg", cmd())
	}
	if m.ExitReport() != report {
		t.Fatalf("exit report %q", m.ExitReport())
	}
}
