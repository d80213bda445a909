package app

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"stowage/ui/common"
	"stowage/ui/keys"
)

// dangerRefusedMsg replaces what a Dangerous key led to when that was not
// a confirmation: the action is not taken, and the footer says why.
type dangerRefusedMsg struct{ action string }

func (r dangerRefusedMsg) String() string {
	return "refused: " + r.action + " opens no confirmation (a bug in stowage: please report it)"
}

// keyToTop hands a key to the top screen. A key that presses one of the
// screen's enabled Dangerous bindings (keys.Action.Dangerous) may lead to
// nothing but a confirmation screen (keys.Confirmer): whatever else the
// screen returns for it is dropped and refused. So the rule holds for
// every dangerous binding, present and future, not only for the ones
// wired to ui/driveconfirm today.
func (m *Model) keyToTop(msg tea.KeyPressMsg) tea.Cmd {
	top := m.Top()
	danger, isDanger := m.dangerousKey(top, msg)
	var cmd tea.Cmd
	m.stack[len(m.stack)-1], cmd = top.Update(msg)
	if !isDanger || cmd == nil {
		return cmd
	}
	return confirmFirst(danger, cmd)
}

// dangerousKey is the top screen's enabled Dangerous binding msg presses.
func (m *Model) dangerousKey(top common.Component, msg tea.KeyPressMsg) (key.Binding, bool) {
	for _, group := range top.FullHelp() {
		for _, b := range group {
			if b.Enabled() && key.Matches(msg, b) && m.d.Keys.Dangerous(b) {
				return b, true
			}
		}
	}
	return key.Binding{}, false
}

// confirmFirst runs cmd (a Cmd, off the UI goroutine: the screen's Push)
// and lets its message through only when it pushes a confirmation.
func confirmFirst(b key.Binding, cmd tea.Cmd) tea.Cmd {
	return func() tea.Msg {
		msg := cmd()
		if push, ok := msg.(common.PushMsg); ok {
			if _, ok := push.Screen.(keys.Confirmer); ok {
				return msg
			}
		}
		return dangerRefusedMsg{action: b.Help().Desc}
	}
}
