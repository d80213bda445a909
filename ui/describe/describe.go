// Package describe is the `d` screen: an object's XML as libvirt returns
// it, and the virsh commands that show the same. The XML is fetched by a
// Cmd; the screen scrolls with the table keys and Esc closes it. It
// imports ui/common, ui/data, ui/keys and themes.
package describe

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"stowage/model"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/data"
	"stowage/ui/keys"
)

// Model is the describe screen.
type Model struct {
	store *data.Store
	host  int
	obj   data.Object
	km    keys.Map
	st    themes.Styles
	vp    viewport.Model
	xml   string
	err   error
	ready bool
	// req names this screen for its reply (common.Route): the root hands
	// the reply to this screen only, wherever it is on the stack.
	req common.Requests
}

// loadedMsg is routed to the screen that asked, so a reply for a closed
// describe screen never lands in a newer one.
type loadedMsg struct {
	common.Route
	xml string
	err error
}

// New builds the screen for obj on host.
func New(store *data.Store, host int, obj data.Object, km keys.Map, st themes.Styles) *Model {
	m := &Model{store: store, host: host, obj: obj, km: km, st: st, vp: viewport.New()}
	m.vp.SetContent(m.content())
	return m
}

// Title names the screen in the breadcrumbs.
func (m *Model) Title() string { return "describe " + m.obj.Kind + " " + model.SafeText(m.obj.Name) }

// Init fetches the XML.
func (m *Model) Init() tea.Cmd {
	r := m.req.New()
	return m.store.Describe(m.host, m.obj, func(x string, err error) tea.Msg { return loadedMsg{Route: r, xml: x, err: err} })
}

// Owns routes this screen's reply to it (common.Owner).
func (m *Model) Owns(r common.Route) (mine, current bool) { return m.req.Owns(r) }

// Update handles the fetched XML, scrolling and Esc.
func (m *Model) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	switch msg := msg.(type) {
	case loadedMsg:
		if m.req.Current(msg.Route) {
			m.xml, m.err, m.ready = msg.xml, msg.err, true
			m.vp.SetContent(m.content())
		}
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, m.km.Back):
			return m, common.Pop(nil)
		case key.Matches(msg, m.km.Up):
			m.vp.ScrollUp(1)
		case key.Matches(msg, m.km.Down):
			m.vp.ScrollDown(1)
		case key.Matches(msg, m.km.PageUp):
			m.vp.PageUp()
		case key.Matches(msg, m.km.PageDown):
			m.vp.PageDown()
		case key.Matches(msg, m.km.Top):
			m.vp.GotoTop()
		case key.Matches(msg, m.km.Bottom):
			m.vp.GotoBottom()
		}
	case tea.MouseWheelMsg:
		var cmd tea.Cmd
		m.vp, cmd = m.vp.Update(msg)
		return m, cmd
	}
	return m, nil
}

func (m *Model) content() string {
	var b strings.Builder
	b.WriteString(m.st.Title.Render("The same with virsh:") + "\n")
	uri := ""
	if m.host < len(m.store.Hosts) {
		uri = m.store.Hosts[m.host].URI
	}
	for _, c := range data.VirshCommands(uri, m.obj) {
		b.WriteString(m.st.Muted.Render("  $ "+model.SafeText(c)) + "\n")
	}
	b.WriteString("\n")
	switch {
	case !m.ready:
		b.WriteString(m.st.Muted.Render("reading XML…"))
	case m.err != nil:
		b.WriteString(m.st.Bad.Render("cannot read the XML: ") + m.st.Text.Render(model.SafeLines(m.err.Error())))
	default:
		b.WriteString(m.st.Text.Render(model.SafeLines(strings.TrimRight(m.xml, "\n"))))
	}
	return b.String()
}

// View renders the scrolled content.
func (m *Model) View() string {
	return m.vp.View()
}

// SetSize sizes the viewport.
func (m *Model) SetSize(w, h int) { m.vp.SetWidth(w); m.vp.SetHeight(h) }

// Focus is a no-op: the screen has no focusable parts.
func (m *Model) Focus() {}

// Blur is a no-op.
func (m *Model) Blur() {}

// ShortHelp lists the screen's keys.
func (m *Model) ShortHelp() []key.Binding {
	return []key.Binding{m.km.Back, m.km.Up, m.km.Down, m.km.PageDown}
}

// FullHelp groups the screen's keys.
func (m *Model) FullHelp() [][]key.Binding {
	return [][]key.Binding{{m.km.Back}, {m.km.Up, m.km.Down, m.km.PageUp, m.km.PageDown, m.km.Top, m.km.Bottom}}
}
