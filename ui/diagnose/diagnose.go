// Package diagnose is the doctor in the console: the findings screen the
// diagnose key opens on a host, pool, drive, VM or secret, and the typed
// confirmation that applies a finding's fix (start a pool, mark it
// autostart, re-define a lost secret with a value typed into a masked
// field).
//
// The screen first re-reads its host through the store's refresh (a
// Cmd; every libvirt call in it is bounded by the connection's timeout),
// so that the findings it lists are current; then it lists the findings
// the store worked out for the host (doctor.Libvirt, see data.Host) that
// concern the object, most severe first, escaped by render. Alongside, it
// asks the backend for the whole diagnosis (Store.Diagnose: the storage
// probes and the Ceph checks too, which make calls of their own) and adds
// those findings when they arrive. A fix runs
// through the backend's ApplyFix (connect: a fresh connection and
// inventory, the fix only while a finding still asks for it, audited);
// then the host is read again and the list follows. Under --readonly the
// fix key is not offered.
//
// It imports model, render, themes, ui/common, ui/data and ui/keys; never
// libvirtx or doctor (the store runs the checks).
package diagnose

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"stowage/model"
	"stowage/render"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/data"
	"stowage/ui/keys"
)

// Deps are what the screen is built from.
type Deps struct {
	Store  *data.Store
	Keys   keys.Map
	Styles themes.Styles
	// ReadOnly (--readonly) hides the fix key.
	ReadOnly bool
}

// FixedMsg is the fix confirmation's result: the fix was applied on Host.
// The root re-reads the hosts on it, and the findings screen below reads
// its host again.
type FixedMsg struct {
	Host   int
	Action model.FixAction
}

// Model is the findings screen.
type Model struct {
	d    Deps
	host int
	obj  data.Object
	// asked is the host's data.Host.Reads when the screen asked for a
	// fresh read; fresh is set once a read completed after it.
	asked uint64
	fresh bool
	// findings are those of the host's that concern obj.
	findings []model.Finding
	// req routes the whole diagnosis's reply; full is its findings, once
	// done (fullDone), or fullErr.
	req      common.Requests
	full     []model.Finding
	fullDone bool
	fullErr  error
	// moved is set once the admin moved the cursor: until then the
	// cursor goes back to the most severe finding when more arrive.
	moved  bool
	cursor int
	// note says what the last fix did.
	note string
	w, h int
}

// New builds the screen for obj on host; Init reads the host again.
func New(d Deps, host int, obj data.Object) *Model {
	return &Model{d: d, host: host, obj: obj}
}

// Title names the screen in the breadcrumbs.
func (m *Model) Title() string { return "diagnose " + m.what() }

// what names the object in the words the findings use.
func (m *Model) what() string {
	switch m.obj.Kind {
	case "host":
		return "host " + model.SafeText(m.obj.Name)
	case "volume":
		return "drive " + model.SafeText(m.obj.Pool+"/"+m.obj.Name)
	case "domain":
		return "VM " + model.SafeText(m.obj.Name)
	}
	return m.obj.Kind + " " + model.SafeText(m.obj.Name)
}

// diagnosedMsg is the whole diagnosis of the screen's host.
type diagnosedMsg struct {
	common.Route
	findings []model.Finding
	err      error
}

// Init re-reads the host (the findings are shown once that read is done)
// and asks for the whole diagnosis.
func (m *Model) Init() tea.Cmd { return tea.Batch(m.reread(), m.diagnoseAll()) }

// Owns implements common.Owner for the whole diagnosis's reply.
func (m *Model) Owns(r common.Route) (mine, current bool) { return m.req.Owns(r) }

func (m *Model) diagnoseAll() tea.Cmd {
	if m.host < 0 || m.host >= len(m.d.Store.Hosts) {
		return nil
	}
	r := m.req.New()
	m.fullDone, m.fullErr = false, nil
	return m.d.Store.Diagnose(m.host, func(fs []model.Finding, err error) tea.Msg {
		return diagnosedMsg{Route: r, findings: fs, err: err}
	})
}

func (m *Model) reread() tea.Cmd {
	if m.host < 0 || m.host >= len(m.d.Store.Hosts) {
		return nil
	}
	m.asked, m.fresh = m.d.Store.Hosts[m.host].Reads, false
	m.d.Store.Hosts[m.host].Want = m.asked + 1
	return m.d.Store.Refresh(m.host, false)
}

// Concerns reports whether finding f is about obj: every finding of the
// host for a host, else those whose Related names obj by its kind (a VM
// and a pool may share a name).
func Concerns(f model.Finding, obj data.Object) bool {
	var want string
	switch obj.Kind {
	case "host":
		return true
	case "pool":
		want = "pool:" + obj.Name
	case "volume":
		want = "drive:" + obj.Pool + "/" + obj.Name
	case "domain":
		want = "vm:" + obj.Name
	case "secret":
		want = "secret:" + obj.Name
	default:
		return false
	}
	return slices.Contains(f.Related, want)
}

// Findings are the findings listed (tests).
func (m *Model) Findings() []model.Finding { return m.findings }

// Fresh reports whether the host was read since the screen asked.
func (m *Model) Fresh() bool { return m.fresh }

// Update follows the store, moves the cursor and opens a fix.
func (m *Model) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	switch msg := msg.(type) {
	case data.ChangedMsg:
		if msg.Host == m.host {
			m.follow()
		}
	case diagnosedMsg:
		if m.req.Current(msg.Route) {
			m.full, m.fullErr, m.fullDone = msg.findings, msg.err, true
			m.follow()
			if !m.moved {
				m.cursor = 0
			}
		}
	case FixedMsg:
		if msg.Host == m.host {
			m.note = fmt.Sprintf("fixed: %s %s", msg.Action.Kind, model.SafeText(msg.Action.Target))
			return m, tea.Batch(m.reread(), m.diagnoseAll())
		}
	case tea.KeyPressMsg:
		km := m.d.Keys
		switch {
		case key.Matches(msg, km.Back):
			return m, common.Pop(nil)
		case key.Matches(msg, m.fixKey()):
			f := m.findings[m.cursor]
			return m, common.Push(newFix(m.d, m.host, f))
		case key.Matches(msg, km.Up):
			m.move(-1)
		case key.Matches(msg, km.Down):
			m.move(1)
		case key.Matches(msg, km.PageUp):
			m.move(-5)
		case key.Matches(msg, km.PageDown):
			m.move(5)
		case key.Matches(msg, km.Top):
			m.move(-len(m.findings))
		case key.Matches(msg, km.Bottom):
			m.move(len(m.findings))
		}
	}
	return m, nil
}

// follow takes the host's findings once a read completed after the
// screen asked, and on every change after that.
func (m *Model) follow() {
	h := m.d.Store.Hosts[m.host]
	if h.Reads <= m.asked {
		return
	}
	m.fresh = true
	var sel *model.Finding
	if m.cursor < len(m.findings) {
		sel = &m.findings[m.cursor]
	}
	m.findings = m.findings[:0:0]
	all := slices.Clone(h.Findings)
	for _, f := range m.full {
		if !slices.ContainsFunc(all, func(g model.Finding) bool {
			return g.Check == f.Check && g.Object == f.Object && g.Message == f.Message
		}) {
			all = append(all, f)
		}
	}
	model.SortFindings(all)
	for _, f := range all {
		if Concerns(f, m.obj) {
			m.findings = append(m.findings, f)
		}
	}
	// The cursor stays on its finding while it is there.
	m.cursor = min(m.cursor, max(len(m.findings)-1, 0))
	for i, f := range m.findings {
		if sel != nil && f.Check == sel.Check && f.Object == sel.Object {
			m.cursor = i
		}
	}
}

func (m *Model) move(d int) {
	m.moved = true
	m.cursor = max(0, min(m.cursor+d, len(m.findings)-1))
}

// Fixable reports whether stowage applies f's fix itself.
func Fixable(f model.Finding) bool {
	if f.Action == nil {
		return false
	}
	switch f.Action.Kind {
	case model.FixStartPool, model.FixAutostartPool, model.FixSetSecret, model.FixBreakLock:
		return true
	}
	return false
}

// fixKey is the fix binding, enabled while the selected finding of a
// current read has a fix stowage applies, never under --readonly.
func (m *Model) fixKey() key.Binding {
	on := !m.d.ReadOnly && m.fresh && m.cursor < len(m.findings) && Fixable(m.findings[m.cursor])
	return keys.Enable(m.d.Keys.Fix, on)
}

// View lists the findings, the selected one marked, scrolled so that it
// shows.
func (m *Model) View() string {
	st := m.d.Styles
	h := m.d.Store.Hosts[m.host]
	title := "Doctor: " + m.what()
	if m.obj.Kind != "host" {
		title += " on " + model.SafeText(h.URI)
	}
	head := []string{st.Title.Render(title)}
	if m.note != "" {
		head = append(head, st.Good.Render(m.note))
	}
	switch {
	case !m.fresh:
		head = append(head, st.Muted.Render("reading the host again, so that the findings are current…"))
		return strings.Join(head, "\n")
	case h.Err != nil:
		head = append(head, st.Bad.Render("the host could not be read again: ")+st.Text.Render(model.SafeText(h.Err.Error())),
			st.Warn.Render("these findings are from its last complete read"))
	}
	switch {
	case !m.fullDone:
		head = append(head, st.Muted.Render("the storage probes and Ceph checks are still running…"))
	case m.fullErr != nil:
		head = append(head, st.Warn.Render("the storage probes and Ceph checks did not finish: ")+st.Text.Render(model.SafeText(m.fullErr.Error())))
	}
	if len(m.findings) == 0 {
		head = append(head, "", st.Good.Render("No findings: nothing the doctor checks is wrong with "+m.what()+"."))
		return strings.Join(head, "\n")
	}
	count := "1 finding"
	if len(m.findings) > 1 {
		count = fmt.Sprintf("%d findings, most severe first", len(m.findings))
	}
	head = append(head, st.Muted.Render(count), "")
	var body []string
	start := 0
	for i, f := range m.findings {
		if i == m.cursor {
			start = len(body)
		}
		body = append(body, m.block(f, i == m.cursor)...)
		body = append(body, "")
	}
	// The selected finding shows from its first line, or the list ends at
	// the bottom of the screen.
	room := max(m.h-len(head), 1)
	start = max(0, min(start, len(body)-room))
	return strings.Join(head, "\n") + "\n" + strings.Join(body[start:], "\n")
}

// block is one finding's lines, wrapped to the width.
func (m *Model) block(f model.Finding, selected bool) []string {
	st := m.d.Styles
	heading, lines := render.FindingText(f)
	mark := "  "
	if selected {
		mark = "› "
	}
	style := st.Text
	switch render.FindingMark(f.Severity) {
	case render.Broken:
		style = st.Bad
	case render.Attention:
		style = st.Warn
	}
	hl := style.Render(mark + heading)
	if selected {
		hl = st.Selected.Render(mark + heading)
	}
	out := []string{hl}
	width := max(m.w-4, 20)
	for _, l := range lines {
		for _, w := range strings.Split(ansi.Wrap(l, width, " "), "\n") {
			out = append(out, "    "+st.Text.Render(w))
		}
	}
	if selected && Fixable(f) && !m.d.ReadOnly {
		out = append(out, "    "+st.Muted.Render(m.d.Keys.Fix.Help().Key+": "+m.d.Keys.Fix.Help().Desc+" ("+f.Action.Kind+" "+model.SafeText(f.Action.Target)+", after typing its target)"))
	}
	return out
}

// SetSize records the size.
func (m *Model) SetSize(w, h int) { m.w, m.h = w, h }

// Focus is a no-op.
func (m *Model) Focus() {}

// Blur is a no-op.
func (m *Model) Blur() {}

// ShortHelp lists the screen's keys.
func (m *Model) ShortHelp() []key.Binding {
	return []key.Binding{m.fixKey(), m.d.Keys.Back, m.d.Keys.Up, m.d.Keys.Down}
}

// FullHelp groups the screen's keys.
func (m *Model) FullHelp() [][]key.Binding {
	km := m.d.Keys
	return [][]key.Binding{{m.fixKey(), km.Back}, {km.Up, km.Down, km.PageUp, km.PageDown, km.Top, km.Bottom}}
}
