// Package app is the root model: a stack of screens with breadcrumbs, the
// hosts' state line, the `:` palette, the `?` help and the poll timer. It
// only dispatches: data goes to the store, keys to the palette, the top
// screen or the global bindings, PushMsg/PopMsg to the stack, and every
// async result (common.Routed) to the screen that asked for it, wherever it
// is on the stack (see common.Route). It imports the ui packages and
// themes; libvirt is reached only through ui/data.
package app

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"stowage/model"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/data"
	"stowage/ui/diagnose"
	"stowage/ui/driveprogress"
	"stowage/ui/firstpool"
	"stowage/ui/iscsiwizard"
	"stowage/ui/keys"
	"stowage/ui/palette"
	"stowage/ui/views/kind"
	"stowage/ui/views/list"
)

// Deps are what the root is built from.
type Deps struct {
	Store  *data.Store
	Keys   keys.Map
	Styles themes.Styles
	// Actions are the wizards' entry points; nil funcs (and all of them
	// under --readonly) hide their keys.
	Actions  common.Actions
	ReadOnly bool
	// Refresh is the poll interval for pools and volumes.
	Refresh time.Duration
	Kinds   map[string]kind.Kind
	// Tick arms the poll timer: tea.Tick when nil. Tests pass their own
	// to tell the timer's Cmd from the others by what it returns.
	Tick func(time.Duration, func(time.Time) tea.Msg) tea.Cmd
}

// headerLines are the breadcrumbs and the hosts' state line; one footer
// line holds the help, the palette or a message.
const headerLines, footerLines = 2, 1

// Model is the root.
type Model struct {
	d        Deps
	ld       list.Deps
	stack    []common.Component
	palette  *palette.Model
	showHelp bool
	help     help.Model
	w, h     int
	message  string
	// ticks numbers the poll timers: only the latest one re-arms, so a
	// timer from before a reschedule cannot double the polling.
	ticks common.Requests
	// exitReport is printed by main after the program quit (a second
	// Ctrl+C during a workflow: what it may have left).
	exitReport string
}

// ExitReport is what to print on the terminal after the program ended;
// empty after an ordinary quit.
func (m *Model) ExitReport() string { return m.exitReport }

type tickMsg struct{ common.Route }

// New builds the root with the hosts screen at the bottom of the stack.
func New(d Deps) *Model {
	if d.Refresh <= 0 {
		d.Refresh = 5 * time.Second
	}
	if d.Tick == nil {
		d.Tick = tea.Tick
	}
	m := &Model{d: d, help: help.New()}
	m.ld = list.Deps{Store: d.Store, Keys: d.Keys, Styles: d.Styles, Actions: d.Actions, Kinds: d.Kinds}
	if !d.ReadOnly {
		m.ld.NewPool = func(host int, typ string) common.Component {
			return firstpool.New(d.Store, host, typ, d.Keys, d.Styles)
		}
	}
	dd := diagnose.Deps{Store: d.Store, Keys: d.Keys, Styles: d.Styles, ReadOnly: d.ReadOnly}
	m.ld.Diagnose = func(host int, obj data.Object) common.Component { return diagnose.New(dd, host, obj) }
	hosts, _ := list.New(m.ld, "hosts", kind.All)
	m.stack = []common.Component{hosts}
	// One host: open its pools at once, hosts stay one Esc away.
	if len(d.Store.Hosts) == 1 {
		pools, _ := list.New(m.ld, "pools", kind.Scope{Host: 0})
		m.stack = append(m.stack, pools)
	}
	return m
}

// Stack exposes the screens (tests).
func (m *Model) Stack() []common.Component { return m.stack }

// Top is the screen on top.
func (m *Model) Top() common.Component { return m.stack[len(m.stack)-1] }

func (m *Model) schedule() tea.Cmd {
	r := m.ticks.New()
	return m.d.Tick(m.d.Refresh, func(time.Time) tea.Msg { return tickMsg{r} })
}

// Init reads every host and starts the poll timer.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.schedule()}
	for i := range m.d.Store.Hosts {
		cmds = append(cmds, m.d.Store.Refresh(i, false))
	}
	return tea.Batch(cmds...)
}

func (m *Model) bodySize() (int, int) {
	h := m.h - headerLines - footerLines
	if h < 1 {
		h = 1
	}
	return m.w, h
}

// broadcast sends msg to every screen on the stack (they keep pointers).
func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for i, s := range m.stack {
		var cmd tea.Cmd
		m.stack[i], cmd = s.Update(msg)
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}

func (m *Model) push(c common.Component) tea.Cmd {
	m.Top().Blur()
	c.SetSize(m.bodySize())
	c.Focus()
	m.stack = append(m.stack, c)
	return c.Init()
}

func (m *Model) pop(result tea.Msg) tea.Cmd {
	if len(m.stack) <= 1 {
		return nil
	}
	m.Top().Blur()
	m.stack = m.stack[:len(m.stack)-1]
	top := m.Top()
	top.SetSize(m.bodySize())
	top.Focus()
	if result == nil {
		return nil
	}
	// A screen closes with a result when it changed a host: a first pool
	// (firstpool.CreatedMsg), a drive workflow (driveprogress.DoneMsg, even
	// a failed one: its rollback changed things too), an LVM-on-iSCSI pool
	// (iscsiwizard.PoolReadyMsg). Re-read the hosts now, not at the next
	// poll, so the change is on screen when the screen below shows again.
	var cmds []tea.Cmd
	for i := range m.d.Store.Hosts {
		cmds = append(cmds, m.d.Store.Refresh(i, false))
	}
	var cmd tea.Cmd
	m.stack[len(m.stack)-1], cmd = top.Update(result)
	cmds = append(cmds, cmd)
	// The browser then selects what was made, once the refresh shows it.
	if sel, ok := m.selection(result); ok {
		m.stack[len(m.stack)-1], cmd = m.Top().Update(sel)
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}

// selection is what a closed screen's result made, for the screen below
// to select: the drive (or the VM it went to), the first pool, the
// LVM-on-iSCSI pool. A failed or deleting workflow made nothing to select.
func (m *Model) selection(result tea.Msg) (common.SelectMsg, bool) {
	switch r := result.(type) {
	case driveprogress.DoneMsg:
		if r.Err != nil || r.Action == "" || isDelete(r.Action) {
			return common.SelectMsg{}, false
		}
		at := common.DriveTarget{HostURI: r.Result.Host, Pool: r.Result.Pool, Volume: r.Result.Name, VM: r.Result.VM, Disk: r.Result.Target}
		return common.SelectMsg{At: at}, at.Pool != "" || at.VM != ""
	case firstpool.CreatedMsg:
		if r.Host < 0 || r.Host >= len(m.d.Store.Hosts) {
			return common.SelectMsg{}, false
		}
		return common.SelectMsg{At: common.DriveTarget{HostURI: m.d.Store.Hosts[r.Host].URI, Pool: r.Pool}}, true
	case iscsiwizard.PoolReadyMsg:
		return common.SelectMsg{At: common.DriveTarget{HostURI: r.HostURI, Pool: r.Pool}}, true
	}
	return common.SelectMsg{}, false
}

// isDelete tells a delete workflow's title (driveconfirm's "delete …").
func isDelete(action string) bool { return strings.HasPrefix(action, "delete ") }

// route hands an async result to the screen that asked for it, searched
// from the top of the stack down: a screen covered by another (a progress
// view under a describe, a list under a wizard) still gets its results and
// its streams keep running. A result whose request is no longer the
// owner's latest, or whose owner has closed, is dropped here.
func (m *Model) route(msg common.Routed) tea.Cmd {
	r := msg.RouteOf()
	for i := len(m.stack) - 1; i >= 0; i-- {
		o, ok := m.stack[i].(common.Owner)
		if !ok {
			continue
		}
		mine, current := o.Owns(r)
		if !mine {
			continue
		}
		if !current {
			return nil
		}
		var cmd tea.Cmd
		m.stack[i], cmd = m.stack[i].Update(msg)
		return cmd
	}
	return nil
}

// open replaces everything above the hosts screen with kind name.
func (m *Model) open(name string, scope kind.Scope) tea.Cmd {
	if name == "hosts" {
		for len(m.stack) > 1 {
			m.pop(nil)
		}
		return nil
	}
	s, ok := list.New(m.ld, name, scope)
	if !ok {
		m.message = "unknown command :" + name
		return nil
	}
	for len(m.stack) > 1 {
		m.pop(nil)
	}
	return m.push(s)
}

// Update dispatches.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.help.SetWidth(msg.Width)
		for _, s := range m.stack {
			s.SetSize(m.bodySize())
		}
		return m, nil
	case data.PartMsg, data.DoneMsg, data.EventMsg, data.EventsEndedMsg:
		changed, cmd := m.d.Store.Update(msg)
		if !changed {
			return m, cmd
		}
		return m, tea.Batch(cmd, m.broadcast(data.ChangedMsg{Host: hostOf(msg)}))
	case data.CephMsg:
		return m, m.cephRead(msg)
	case tickMsg:
		if !m.ticks.Current(msg.Route) {
			return m, nil
		}
		cmds := []tea.Cmd{m.schedule()}
		for i, h := range m.d.Store.Hosts {
			if !h.Loading {
				cmds = append(cmds, m.d.Store.Refresh(i, false))
			}
		}
		return m, tea.Batch(cmds...)
	case data.TrustMsg:
		if msg.Err != nil {
			m.message = msg.Err.Error()
			return m, nil
		}
		m.message = "host key trusted; connecting…"
		return m, m.d.Store.Refresh(msg.Host, false)
	case dangerRefusedMsg:
		m.message = msg.String()
		return m, nil
	case common.QuitMsg:
		// A second Ctrl+C during a workflow: quit now; main prints the
		// report once the terminal is back.
		m.exitReport = msg.Report
		return m, tea.Quit
	case common.PushMsg:
		return m, m.push(msg.Screen)
	case common.PopMsg:
		return m, m.pop(msg.Result)
	case palette.RunMsg:
		m.palette = nil
		return m, m.run(msg)
	case palette.CloseMsg:
		m.palette = nil
		return m, nil
	case tea.KeyPressMsg:
		return m, m.key(msg)
	case tea.MouseMsg:
		return m, m.mouse(msg)
	case common.Routed:
		// After the store's and the timer's own: those are routed too,
		// but to the store and the root.
		return m, m.route(msg)
	}
	var cmd tea.Cmd
	m.stack[len(m.stack)-1], cmd = m.Top().Update(msg)
	return m, cmd
}

func hostOf(msg tea.Msg) int {
	switch msg := msg.(type) {
	case data.PartMsg:
		return msg.Host
	case data.DoneMsg:
		return msg.Host
	case data.EventMsg:
		return msg.Host
	case data.EventsEndedMsg:
		return msg.Host
	}
	return -1
}

func (m *Model) run(r palette.RunMsg) tea.Cmd {
	switch r.Cmd {
	case "quit", "q":
		return tea.Quit
	case "help":
		m.showHelp = true
		return nil
	case "host":
		for i, h := range m.d.Store.Hosts {
			if h.URI == r.Arg {
				return m.open("pools", kind.Scope{Host: i})
			}
		}
		m.message = "no host " + r.Arg
		return nil
	case "diagnose":
		return m.diagnose(r.Arg)
	}
	return m.open(r.Cmd, kind.All)
}

// diagnose is `:diagnose` (the selected row's object, as the diagnose
// key) and `:diagnose URI` (a whole host).
func (m *Model) diagnose(uri string) tea.Cmd {
	if uri != "" {
		for i, h := range m.d.Store.Hosts {
			if h.URI == uri {
				return m.push(m.ld.Diagnose(i, data.Object{Kind: "host", Name: h.URI}))
			}
		}
		m.message = "no host " + uri
		return nil
	}
	if l, ok := m.Top().(*list.Model); ok {
		if host, obj, ok := l.DiagnoseTarget(); ok {
			return m.push(m.ld.Diagnose(host, obj))
		}
	}
	m.message = ":diagnose works on a list's selected row, or give a host: :diagnose URI"
	return nil
}

// unknownKeyHost is the first host waiting for an SSH host-key decision.
func (m *Model) unknownKeyHost() int {
	for i, h := range m.d.Store.Hosts {
		if data.UnknownHostKey(h) != nil {
			return i
		}
	}
	return -1
}

// FirstRun reports whether no host could be reached yet (every host
// failed its dial): the first-run screen is shown then.
func (m *Model) FirstRun() bool {
	for _, h := range m.d.Store.Hosts {
		if h.Loaded || h.Err == nil || h.Status.State != model.StateDisconnected {
			return false
		}
	}
	return true
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	km := m.d.Keys
	if m.palette != nil {
		p, cmd := m.palette.Update(msg)
		m.palette = &p
		return cmd
	}
	if m.showHelp {
		m.showHelp = false
		return nil
	}
	m.message = ""
	top := m.Top()
	if c, ok := top.(common.Capturing); ok && c.Capturing() {
		return m.keyToTop(msg)
	}
	// Global bindings are disjoint from the screens' own keys.
	switch {
	case key.Matches(msg, km.Quit):
		return tea.Quit
	case key.Matches(msg, km.Help):
		m.showHelp = true
		return nil
	case key.Matches(msg, km.Palette):
		var names []string
		for n := range m.d.Kinds {
			names = append(names, n)
		}
		var hosts []string
		for _, h := range m.d.Store.Hosts {
			hosts = append(hosts, h.URI)
		}
		p := palette.New(names, hosts, m.d.Keys, m.d.Styles)
		m.palette = &p
		return nil
	case key.Matches(msg, km.Refresh):
		var cmds []tea.Cmd
		for i := range m.d.Store.Hosts {
			cmds = append(cmds, m.d.Store.Refresh(i, false), m.d.Store.ReloadCeph(i))
		}
		return tea.Batch(cmds...)
	case key.Matches(msg, km.Trust) && m.unknownKeyHost() >= 0:
		return m.d.Store.Trust(m.unknownKeyHost())
	case key.Matches(msg, km.Hosts):
		return m.open("hosts", kind.All)
	case key.Matches(msg, km.Pools):
		return m.open("pools", kind.All)
	case key.Matches(msg, km.Volumes):
		return m.open("volumes", kind.All)
	case key.Matches(msg, km.VMs):
		return m.open("vms", kind.All)
	case key.Matches(msg, km.Secrets):
		return m.open("secrets", kind.All)
	case key.Matches(msg, km.Ceph):
		return m.openCeph()
	case key.Matches(msg, km.Back) && len(m.stack) == 1:
		return nil
	}
	return m.keyToTop(msg)
}

// mouse forwards mouse messages to the top screen in its own coordinates.
func (m *Model) mouse(msg tea.MouseMsg) tea.Cmd {
	var fwd tea.Msg
	switch ev := msg.(type) {
	case tea.MouseClickMsg:
		ev.Y -= headerLines
		fwd = ev
	case tea.MouseWheelMsg:
		ev.Y -= headerLines
		fwd = ev
	default:
		return nil
	}
	var cmd tea.Cmd
	m.stack[len(m.stack)-1], cmd = m.Top().Update(fwd)
	return cmd
}

// GlobalBindings are the keys the root itself handles.
func (m *Model) GlobalBindings() []key.Binding {
	km := m.d.Keys
	return []key.Binding{km.Palette, km.Help, km.Refresh, km.Hosts, km.Pools, km.Volumes, km.VMs, km.Secrets, km.Ceph,
		keys.Enable(km.Trust, m.unknownKeyHost() >= 0), km.Quit}
}

// HelpText is the `?` screen, generated from the keymaps in force.
func (m *Model) HelpText() string {
	groups := append(m.Top().FullHelp(), m.GlobalBindings())
	return m.help.FullHelpView(groups)
}
