// Package list is the one screen every resource kind is shown in: a
// table fed from the store by a kind.Kind, with drill-down on Enter,
// describe on `d`, the doctor's findings on `D`, a kind's banner above
// the table (kind.Bannered), the wizard keys the selection allows, and a message
// when there is nothing to list. What a kind returns (cells, title,
// detail, empty message) comes from render, escaped there: the list draws
// it as it is. It imports ui/views/kind, ui/table, ui/describe, ui/common,
// ui/data, ui/keys and themes.
package list

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"stowage/render"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/data"
	"stowage/ui/describe"
	"stowage/ui/keys"
	"stowage/ui/table"
	"stowage/ui/views/kind"
)

// Deps are what every list screen is built from.
type Deps struct {
	Store   *data.Store
	Keys    keys.Map
	Styles  themes.Styles
	Actions common.Actions
	NewPool func(host int, typ string) common.Component
	// Diagnose opens the doctor's findings on an object of a host (the
	// diagnose key); nil hides the key.
	Diagnose func(host int, obj data.Object) common.Component
	// Kinds is the registry from kind name to view.
	Kinds map[string]kind.Kind
}

// Model is a list screen.
type Model struct {
	d     Deps
	k     kind.Kind
	scope kind.Scope
	tbl   table.Model
	w, h  int
	// want is what a closed screen made (common.SelectMsg), selected once
	// the rows show it; a key press drops it.
	want *common.DriveTarget
}

// New opens kind name in scope; ok is false for an unknown kind.
func New(d Deps, name string, scope kind.Scope) (*Model, bool) {
	k, ok := d.Kinds[name]
	if !ok {
		return nil, false
	}
	m := &Model{d: d, k: k, scope: scope}
	m.tbl = table.New(k.Columns(m.ctx()), d.Keys, d.Styles)
	m.refresh()
	return m, true
}

func (m *Model) ctx() kind.Ctx {
	return kind.Ctx{Store: m.d.Store, Scope: m.scope, Keys: m.d.Keys, Actions: m.d.Actions, NewPool: m.d.NewPool}
}

// Kind is the kind's name; Scope its scope.
func (m *Model) Kind() string { return m.k.Name() }

// Scope is what the list is narrowed to.
func (m *Model) Scope() kind.Scope { return m.scope }

// Table exposes the table (tests).
func (m *Model) Table() *table.Model { return &m.tbl }

// Title names the screen in the breadcrumbs (escaped by render, as every
// text a kind returns).
func (m *Model) Title() string { return m.k.Title(m.ctx()) }

// Capturing is true while the filter line takes every key.
func (m *Model) Capturing() bool { return m.tbl.Editing() }

func (m *Model) refresh() {
	m.tbl.ReleaseRows()
	m.tbl.SetRows(m.k.Rows(m.ctx()))
}

// Init asks the store for a Loader kind's data (the Ceph views); other
// kinds' data is in the store already.
func (m *Model) Init() tea.Cmd {
	if l, ok := m.k.(kind.Loader); ok {
		return l.Load(m.ctx())
	}
	return nil
}

func (m *Model) selected() string {
	k, _ := m.tbl.SelectedKey()
	return k
}

// Update rebuilds rows when the store changed and handles keys.
func (m *Model) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	if _, ok := msg.(tea.MouseMsg); ok {
		m.want = nil // the admin moves the cursor now
	}
	switch msg := msg.(type) {
	case data.ChangedMsg:
		if m.scope.Host < 0 || m.scope.Host == msg.Host {
			m.refresh()
			m.selectWanted()
		}
		return m, nil
	case common.SelectMsg:
		m.want = &msg.At
		m.selectWanted()
		return m, nil
	case tea.KeyPressMsg:
		m.want = nil
		if m.tbl.Editing() {
			var cmd tea.Cmd
			m.tbl, cmd = m.tbl.Update(msg)
			return m, cmd
		}
		c, sel := m.ctx(), m.selected()
		switch {
		case key.Matches(msg, m.d.Keys.Enter):
			if name, scope, ok := m.k.Drill(c, sel); ok {
				if next, ok := New(m.d, name, scope); ok {
					return m, common.Push(next)
				}
			}
			return m, nil
		case key.Matches(msg, m.d.Keys.Describe):
			if host, obj, ok := m.k.Describe(c, sel); ok {
				return m, common.Push(describe.New(m.d.Store, host, obj, m.d.Keys, m.d.Styles))
			}
			return m, nil
		case key.Matches(msg, m.d.Keys.Diagnose):
			if host, obj, ok := m.DiagnoseTarget(); ok {
				return m, common.Push(m.d.Diagnose(host, obj))
			}
			return m, nil
		case key.Matches(msg, m.d.Keys.Back):
			return m, common.Pop(nil)
		}
		for _, a := range m.k.Actions(c, sel) {
			if key.Matches(msg, a.Binding) {
				return m, common.Push(a.Open())
			}
		}
	}
	var cmd tea.Cmd
	m.tbl, cmd = m.tbl.Update(m.underBanner(msg))
	return m, cmd
}

// DiagnoseTarget is the object the diagnose key (or `:diagnose`) opens
// the doctor's findings on: the selected host, pool, drive, VM or secret.
func (m *Model) DiagnoseTarget() (int, data.Object, bool) {
	if m.d.Diagnose == nil {
		return 0, data.Object{}, false
	}
	return m.k.Describe(m.ctx(), m.selected())
}

// banner is the kind's line above the table, styled, if it has one.
func (m *Model) banner() (string, bool) {
	b, ok := m.k.(kind.Bannered)
	if !ok {
		return "", false
	}
	text, mark := b.Banner(m.ctx())
	st := m.d.Styles
	style := st.Text
	switch mark {
	case render.Idle:
		style = st.Muted
	case render.Fine:
		style = st.Good
	case render.Attention:
		style = st.Warn
	case render.Broken:
		style = st.Bad
	}
	return style.Render(ansi.Truncate(text, max(m.w, 1), "…")), true
}

// underBanner moves a mouse event into the table's coordinates, which
// start under the banner.
func (m *Model) underBanner(msg tea.Msg) tea.Msg {
	if _, ok := m.k.(kind.Bannered); !ok {
		return msg
	}
	switch ev := msg.(type) {
	case tea.MouseClickMsg:
		ev.Y--
		return ev
	case tea.MouseWheelMsg:
		ev.Y--
		return ev
	}
	return msg
}

// selectWanted moves the cursor to the row that shows what a closed screen
// made: its volume, else its pool, else its VM (the row of its disk when
// named). It keeps waiting (a refresh brings the row) until the exact row
// is there.
func (m *Model) selectWanted() {
	if m.want == nil {
		return
	}
	at, c := *m.want, m.ctx()
	best, rank, exact := "", 0, false
	for _, r := range m.tbl.Rows() {
		host, o, ok := m.k.Describe(c, r.Key)
		if !ok || (at.HostURI != "" && m.d.Store.Hosts[host].URI != at.HostURI) {
			continue
		}
		n, ex := 0, false
		switch {
		case o.Kind == "volume" && at.Volume != "" && o.Pool == at.Pool && o.Name == at.Volume:
			n, ex = 3, true
		case o.Kind == "pool" && at.Pool != "" && o.Name == at.Pool:
			n, ex = 2, at.Volume == ""
		case o.Kind == "domain" && at.VM != "" && o.Name == at.VM && at.Disk != "" && strings.HasSuffix(r.Key, "\x00"+at.Disk):
			n, ex = 2, true
		case o.Kind == "domain" && at.VM != "" && o.Name == at.VM:
			n, ex = 1, at.Disk == ""
		}
		if n > rank {
			best, rank, exact = r.Key, n, ex
		}
	}
	if rank > 0 && m.tbl.Select(best) && exact {
		m.want = nil
	}
}

// View draws the banner, if any, above the rest.
func (m *Model) View() string {
	if b, ok := m.banner(); ok {
		return b + "\n" + m.body()
	}
	return m.body()
}

// body draws the table, or the kind's empty message under the header.
func (m *Model) body() string {
	if m.tbl.Len() == 0 && m.tbl.Filter() == "" {
		if msg := m.k.Empty(m.ctx()); msg != "" {
			lines := strings.Split(m.tbl.View(), "\n")
			return lines[0] + "\n\n" + m.d.Styles.Text.Render(msg)
		}
	}
	if d, ok := m.k.(kind.Detailer); ok && m.h > detailLines+2 {
		text := ""
		if sel := m.selected(); sel != "" {
			text = d.Detail(m.ctx(), sel)
		}
		lines := strings.Split(ansi.Wrap(text, m.w, " "), "\n")
		for len(lines) < detailLines {
			lines = append(lines, "")
		}
		return m.tbl.View() + "\n" + m.d.Styles.Muted.Render(strings.Join(lines[:detailLines], "\n"))
	}
	return m.tbl.View()
}

// detailLines is the room under the table for a Detailer's text.
const detailLines = 3

// SetSize sizes the table, leaving room for the selected row's detail.
func (m *Model) SetSize(w, h int) {
	if _, ok := m.k.(kind.Bannered); ok {
		h = max(h-1, 1)
	}
	m.w, m.h = w, h
	if _, ok := m.k.(kind.Detailer); ok && h > detailLines+2 {
		h -= detailLines
	}
	m.tbl.SetSize(w, h)
}

// Focus gives the table the keys.
func (m *Model) Focus() { m.tbl.Focus() }

// Blur takes them away.
func (m *Model) Blur() { m.tbl.Blur() }

func (m *Model) bindings() (nav, acts []key.Binding) {
	nav, acts, _ = m.bindingsBy()
	return nav, acts
}

// bindingsBy is bindings with the footer's share of the actions apart:
// primary leaves out the Secondary ones.
func (m *Model) bindingsBy() (nav, acts, primary []key.Binding) {
	c, sel := m.ctx(), m.selected()
	_, _, drill := m.k.Drill(c, sel)
	_, _, desc := m.k.Describe(c, sel)
	_, _, diag := m.DiagnoseTarget()
	nav = []key.Binding{keys.Enable(m.d.Keys.Enter, drill), keys.Enable(m.d.Keys.Describe, desc),
		keys.Enable(m.d.Keys.Diagnose, diag), m.d.Keys.Back}
	for _, a := range m.k.Actions(c, sel) {
		acts = append(acts, a.Binding)
		if !a.Secondary {
			primary = append(primary, a.Binding)
		}
	}
	return nav, acts, primary
}

// ShortHelp is the screen's most useful keys now.
func (m *Model) ShortHelp() []key.Binding {
	nav, _, primary := m.bindingsBy()
	return append(append(nav, m.d.Keys.Filter), primary...)
}

// FullHelp is every key the screen offers now.
//
// The selection's actions go under the navigation keys, in the same
// column: a column of their own would push the global keys' column (`?`
// lists it last) past an 80-column screen.
func (m *Model) FullHelp() [][]key.Binding {
	nav, acts := m.bindings()
	return [][]key.Binding{append(nav, acts...), m.tbl.Bindings()}
}
