package app

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/data"
	"stowage/ui/firstrun"
)

// View draws breadcrumbs, the hosts' state line, the top screen (or the
// first-run screen, or the help) and the footer.
func (m *Model) View() tea.View {
	st := m.d.Styles
	var b strings.Builder
	b.WriteString(m.crumbs() + "\n")
	b.WriteString(m.hostLine() + "\n")
	_, bodyH := m.bodySize()
	var body string
	switch {
	case m.showHelp:
		body = st.Title.Render("Keys") + "\n\n" + m.HelpText() + "\n\n" + st.Muted.Render("any key closes this help")
	case m.FirstRun():
		body = firstrun.View(m.d.Store, m.d.Keys, st, m.w)
	default:
		body = m.Top().View()
	}
	b.WriteString(clip(body, m.w, bodyH) + "\n")
	b.WriteString(m.footer())
	v := tea.NewView(b.String())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	return v
}

// clip pads or cuts s to exactly h lines no wider than w.
func clip(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	if w > 0 {
		for i, l := range lines {
			if ansi.StringWidth(l) > w {
				lines[i] = ansi.Truncate(l, w, "…")
			}
		}
	}
	return strings.Join(lines, "\n")
}

func (m *Model) crumbs() string {
	st := m.d.Styles
	parts := []string{st.Title.Render("stowage")}
	for _, s := range m.stack {
		if t, ok := s.(common.Titled); ok {
			parts = append(parts, st.Text.Render(model.SafeText(t.Title())))
		}
	}
	if m.d.ReadOnly {
		parts = append(parts, st.Warn.Render("[read-only]"))
	}
	return clip(strings.Join(parts, st.Muted.Render(" › ")), m.w, 1)
}

func (m *Model) hostLine() string {
	st := m.d.Styles
	var parts []string
	// A fleet's line holds only its first few hosts: stop once it is full
	// (the console redraws after every message, and measuring a hundred
	// hosts' labels to clip all but three was a third of a fleet's first
	// load).
	width := 0
	for _, h := range m.d.Store.Hosts {
		if m.w > 0 && width > m.w {
			break
		}
		switch h.Status.State {
		case model.StateConnected:
			label := model.SafeText(h.URI + " " + h.Info.LibvirtVersion)
			if h.Loading && !h.Loaded {
				label += " loading…"
			}
			parts = append(parts, st.Good.Render("● "+label))
		case model.StateDegraded:
			parts = append(parts, st.Warn.Render(model.SafeText("◐ "+h.URI+" degraded: "+h.Status.Reason)))
		case model.StateDisconnected:
			retry := ""
			if !h.Status.NextRetry.IsZero() {
				retry = " (retry " + h.Status.NextRetry.Format("15:04:05") + ")"
			}
			parts = append(parts, st.Bad.Render(model.SafeText("○ "+h.URI+" disconnected"+retry)))
		default:
			parts = append(parts, st.Muted.Render(model.SafeText("… "+h.URI+" connecting")))
		}
		width += ansi.StringWidth(parts[len(parts)-1]) + 2
	}
	return clip(strings.Join(parts, "  "), m.w, 1)
}

func (m *Model) footer() string {
	st := m.d.Styles
	switch {
	case m.palette != nil:
		return clip(m.palette.View(), m.w, 1)
	case m.message != "":
		return clip(st.Warn.Render(model.SafeText(m.message)), m.w, 1)
	}
	if i := m.unknownKeyHost(); i >= 0 && !m.FirstRun() {
		k := m.d.Keys.Trust.Help().Key
		// The fingerprint is on the line: y trusts exactly the key shown.
		uk := data.UnknownHostKey(m.d.Store.Hosts[i])
		return clip(st.Warn.Render(model.SafeText(fmt.Sprintf("%s: unknown SSH host key for %s %s %s; press %s to trust exactly this key", m.d.Store.Hosts[i].URI, uk.Subject(), uk.KeyType, uk.Fingerprint, k))), m.w, 1)
	}
	bs := append(m.Top().ShortHelp(), m.d.Keys.Palette, m.d.Keys.Help, m.d.Keys.Quit)
	return clip(m.help.ShortHelpView(bs), m.w, 1)
}
