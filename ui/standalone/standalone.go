// Package standalone runs console screens as a program of their own
// (`stowage drive wizard`, `stowage iscsi wizard`): the smallest root that
// keeps the console's contract, so a screen behaves alone as it does
// inside the console.
//   - Push and Pop work as a stack; popping the last screen ends the
//     program with its result.
//   - Keys go to the top screen first while it captures them (a form, a
//     running step); otherwise the keymap's quit binding quits, as in the
//     console (remaps included).
//   - common.QuitMsg (a second ctrl+c during a drive workflow) quits at
//     once and keeps the screen's report for the caller to print.
//   - ctrl+c twice in a row always quits, even on a screen that captures
//     keys and ignores them: the screen sees the second press first (a
//     drive workflow answers it with its report), then the program ends.
//
// It imports ui/common and bubbletea only; what the screens need comes
// from the caller's wiring.
package standalone

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"stowage/ui/common"
)

// Model is the root. Its fields are read after the program ended.
type Model struct {
	stack []common.Component
	quit  key.Binding
	w, h  int
	// ctrlC counts ctrl+c presses in a row that a capturing screen took.
	ctrlC int
	// Result is the last screen's PopMsg result.
	Result tea.Msg
	// Report is what a common.QuitMsg asked to print once the terminal is
	// back (what a cut-short workflow may have left).
	Report string
}

// New hosts first, quitting on quit (the keymap's quit binding).
func New(first common.Component, quit key.Binding) *Model {
	first.Focus()
	return &Model{stack: []common.Component{first}, quit: quit}
}

// Run runs first as a whole program and returns the root once it ended.
func Run(first common.Component, quit key.Binding, opts ...tea.ProgramOption) (*Model, error) {
	m := New(first, quit)
	_, err := tea.NewProgram(m, opts...).Run()
	return m, err
}

// forceQuitMsg ends the program after the screen handled a second ctrl+c.
type forceQuitMsg struct{}

func (m *Model) top() common.Component { return m.stack[len(m.stack)-1] }

// Init starts the first screen.
func (m *Model) Init() tea.Cmd { return m.top().Init() }

// Update dispatches as the console's root does.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		for _, c := range m.stack {
			c.SetSize(msg.Width, msg.Height)
		}
		return m, nil
	case common.PushMsg:
		m.top().Blur()
		msg.Screen.SetSize(m.w, m.h)
		msg.Screen.Focus()
		m.stack = append(m.stack, msg.Screen)
		return m, msg.Screen.Init()
	case common.PopMsg:
		m.top().Blur()
		if len(m.stack) == 1 {
			m.Result = msg.Result
			return m, tea.Quit
		}
		m.stack = m.stack[:len(m.stack)-1]
		m.top().Focus()
		if msg.Result == nil {
			return m, nil
		}
		return m.deliver(msg.Result)
	case common.QuitMsg:
		m.Report = msg.Report
		return m, tea.Quit
	case forceQuitMsg:
		return m, tea.Quit
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return m.deliver(msg)
}

func (m *Model) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	capturing := false
	if c, ok := m.top().(common.Capturing); ok {
		capturing = c.Capturing()
	}
	if msg.String() != "ctrl+c" || !capturing {
		m.ctrlC = 0
	}
	if !capturing {
		if key.Matches(msg, m.quit) {
			return m, tea.Quit
		}
		return m.deliver(msg)
	}
	if msg.String() == "ctrl+c" {
		m.ctrlC++
	}
	_, cmd := m.deliver(msg)
	switch {
	case m.ctrlC < 2:
		return m, cmd
	case cmd == nil:
		return m, tea.Quit
	}
	// The screen's answer first (a workflow's QuitMsg carries its
	// report), then the end, whatever the screen did with the key.
	return m, tea.Sequence(cmd, func() tea.Msg { return forceQuitMsg{} })
}

func (m *Model) deliver(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	m.stack[len(m.stack)-1], cmd = m.top().Update(msg)
	return m, cmd
}

// View shows the top screen on the alternate screen, as the console does.
func (m *Model) View() tea.View {
	v := tea.NewView(m.top().View())
	v.AltScreen = true
	return v
}
