// Package common holds what every ui component shares: the Component
// contract, the messages that push and pop screens, and the Deps struct
// passed to constructors. It imports model and themes; never libvirtx,
// ceph or iscsi (backends reach the UI through interfaces).
package common

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
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

// Actions are the screens other ui packages own (the drive wizard, the
// LVM-on-iSCSI wizard, confirmations), built by main's wiring with their
// backends. The browser offers a key for an action only when its func is
// set and the selection fits; under --readonly main leaves every mutating
// action nil, so the keys vanish from dispatch and from `?` alike.
type Actions struct {
	// CreateDrive opens the create-drive wizard, preset to a pool (from the
	// pools or volumes view) or a VM to attach to (from the VMs view).
	CreateDrive func(at DriveTarget) Component
	// AttachDrive opens the attach flow for an existing volume.
	AttachDrive func(at DriveTarget) Component
	// DetachDrive opens the detach confirmation for a disk of a VM.
	DetachDrive func(at DriveTarget) Component
	// DeleteDrive opens the typed-name confirmation that deletes a volume
	// (or RBD image) and its secret.
	DeleteDrive func(at DriveTarget) Component
	// LVMOnISCSI opens the LVM-on-iSCSI wizard on a host, optionally preset
	// to an existing iscsi pool's portal and target.
	LVMOnISCSI func(at DriveTarget) Component
}

// DriveTarget says where an action applies: the host (its URI as given),
// and whichever of pool, volume, VM and disk target the selection names.
type DriveTarget struct {
	HostURI string
	Pool    string
	Volume  string
	VM      string
	// Disk is the VM's target device (vdb) for detach.
	Disk string
}

// QuitMsg asks the root to quit the program now, even while a workflow
// runs, and to print Report on the normal terminal after it has left the
// alternate screen (what the workflow may have left, with the commands).
type QuitMsg struct{ Report string }

// Quit is the Cmd that sends QuitMsg.
func Quit(report string) tea.Cmd { return func() tea.Msg { return QuitMsg{Report: report} } }

// Capturing components (a filter line, a form) take every key while they
// report true, so the root's global bindings do not steal typed letters.
type Capturing interface {
	Capturing() bool
}
