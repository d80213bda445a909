// Package common holds what every ui component shares: the Component
// contract (and Capturing, for screens that take every key), the
// messages that push, pop and quit screens, Actions (the wizards' entry
// points) with their DriveTarget, the routing of async results, and the
// masked SecretField. Each screen package declares its own Deps struct;
// the bindings come from ui/keys. It imports bubbletea and bubbles/key
// only: no model, themes, ui/keys or backend (libvirtx, ceph, iscsi), so
// that every ui package can import it.
package common

import (
	"sync/atomic"

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

	// Storage lifecycle (issue 12); each nil under --readonly, so its key
	// vanishes.
	//
	// PoolAction opens a pool action's screen: action is one of start,
	// stop, refresh, autostart, build, delete, undefine (dangerous ones
	// open a typed confirmation).
	PoolAction func(at DriveTarget, action string) Component
	// DefinePool opens the define-a-pool form (every type) on at.HostURI.
	DefinePool func(at DriveTarget) Component
	// TeardownISCSI opens the LVM-on-iSCSI teardown: preview, typed
	// confirmation, progress.
	TeardownISCSI func(at DriveTarget) Component
	// ResizeDrive, CloneDrive, WipeDrive, UploadDrive and DownloadDrive
	// open the drive's form and progress.
	ResizeDrive, CloneDrive, WipeDrive func(at DriveTarget) Component
	UploadDrive, DownloadDrive         func(at DriveTarget) Component
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

// SelectMsg asks the screen a closed screen returns to (a browser list) to
// select what was just made, as soon as its rows show it: the drive (or the
// VM it was attached to) after a drive workflow, the pool after a first
// pool or an LVM-on-iSCSI pool. The root sends it after the result itself.
// An empty HostURI matches every host. A key press cancels it, so a later
// refresh never moves a cursor the admin has moved.
type SelectMsg struct{ At DriveTarget }

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

// Routing. Every asynchronous result in the console (a backend call's
// reply, each event of a stream, a timer) carries a Route: the ID of the
// screen that asked (Owner) and which of that screen's requests it
// answers (Req). This is the one idiom for telling fresh results from
// stale ones; the console used to have four (request ids, owner
// pointers, channel identity and generation counters).
//
//   - A screen numbers its requests with a Requests: New starts a request
//     and makes every older one stale (a new phase, a new refresh).
//   - A result message embeds its Route, so it implements Routed.
//   - The root walks the whole stack, not only the top: the screen whose
//     Owns says mine gets the result when it is current; a stale one, or
//     one whose screen has closed, is dropped. A stream (progress events,
//     a wizard's steps) whose screen is covered by another therefore keeps
//     running and lands on its owner.
//   - A screen that holds another (a wizard showing its progress view)
//     answers Owns for both, so the root needs no knowledge of nesting.
//   - The data store is not a screen but uses the same type: one Requests
//     per host for refreshes and one for event subscriptions.
//
// Screens still check Owns themselves in Update (cheap), so a unit test
// that feeds a screen directly sees the same staleness rule as the root.

// ID names one screen (or one host's stream) for the program's life; 0 is
// no one.
type ID uint64

// lastID is the one process-wide counter behind NewID (as bubbles numbers
// its spinners and cursors): IDs must differ across every screen, so no
// screen or constructor can own it.
var lastID atomic.Uint64

// NewID returns an ID never returned before.
func NewID() ID { return ID(lastID.Add(1)) }

// Route is what an async result carries to find its owner.
type Route struct {
	Owner ID
	Req   uint64
}

// RouteOf returns r; result messages embed a Route to implement Routed.
func (r Route) RouteOf() Route { return r }

// Routed is an async result the root delivers to its owner.
type Routed interface{ RouteOf() Route }

// Owner is a screen that receives routed results. Owns reports whether r
// names this screen (mine) and, if so, whether it is the latest request
// (current); the root drops a result that is mine but not current.
type Owner interface {
	Owns(r Route) (mine, current bool)
}

// Requests names its holder and numbers its requests. The zero value is
// ready; the ID is drawn on first use.
type Requests struct {
	owner ID
	last  uint64
}

// New starts a request: its Route is the only current one from now on.
func (q *Requests) New() Route {
	q.last++
	return q.Latest()
}

// Latest is the current request's Route (for a result that joins it, such
// as a stream's next event, or a read that must not end the request).
func (q *Requests) Latest() Route {
	if q.owner == 0 {
		q.owner = NewID()
	}
	return Route{Owner: q.owner, Req: q.last}
}

// Owns implements Owner.
func (q *Requests) Owns(r Route) (mine, current bool) {
	if q.owner == 0 || r.Owner != q.owner {
		return false, false
	}
	return true, r.Req == q.last
}

// Current reports whether r is this holder's latest request.
func (q *Requests) Current(r Route) bool {
	_, cur := q.Owns(r)
	return cur
}
