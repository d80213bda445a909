// Package common holds what every ui component shares: the Component
// contract, the messages that push and pop screens, and the Deps struct
// passed to constructors. It imports model and themes; never libvirtx,
// ceph or iscsi (backends reach the UI through interfaces).
package common

import (
	tea "charm.land/bubbletea/v2"
	"charm.land/bubbles/v2/key"
)

// Component is a screen or a part of one. Update returns the component
// itself (by value or pointer) so the root can keep it.
type Component interface {
	Init() tea.Cmd
	Update(tea.Msg) (Component, tea.Cmd)
	// View renders the component into the size last given to SetSize.
	View() string
	SetSize(width, height int)
	Focus()
	Blur()
	// ShortHelp and FullHelp implement help.KeyMap from the component's
	// currently enabled bindings, so `?` and dispatch always agree.
	ShortHelp() []key.Binding
	FullHelp() [][]key.Binding
}

// Titled components name themselves in the breadcrumbs.
type Titled interface {
	Title() string
}

// PushMsg asks the root to show Screen on top of the current one (a wizard,
// a progress view, a confirmation). The root sizes and focuses it.
type PushMsg struct{ Screen Component }

// PopMsg asks the root to close the top screen and return to the one below.
// Result, when set, is delivered to the screen below as a message (e.g. a
// wizard's "drive created" so the list can refresh and select it).
type PopMsg struct{ Result tea.Msg }

// Push returns the Cmd that pushes a screen.
func Push(c Component) tea.Cmd { return func() tea.Msg { return PushMsg{Screen: c} } }

// Pop returns the Cmd that pops the top screen with an optional result.
func Pop(result tea.Msg) tea.Cmd { return func() tea.Msg { return PopMsg{Result: result} } }
