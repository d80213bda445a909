package drivetransfer

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/keys"
)

const defaultTimeout = 15 * time.Second

// typed reports whether the action overwrites the drive, so the drive's
// name must be typed to confirm it.
func (m *Model) typed() bool { return m.action != Download }

// Update routes messages to the stage.
func (m *Model) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	if m.closed {
		return m, nil
	}
	if m.progress != nil {
		_, cmd := m.progress.Update(msg)
		return m, cmd
	}
	switch msg := msg.(type) {
	case volumeLoaded:
		if !m.req.Current(msg.Route) {
			return m, nil
		}
		if m.err = msg.err; msg.err != nil {
			return m, nil
		}
		m.vol, m.stage = msg.v, form
		m.buildForm()
		return m, m.form.Init()
	case prepared:
		if !m.req.Current(msg.Route) {
			return m, nil
		}
		if msg.err != nil {
			// The host refused (in use, encrypted, not the backend's):
			// back to the form, with the reason above it.
			m.err, m.stage = msg.err, form
			m.buildForm()
			return m, m.form.Init()
		}
		m.prepared, m.stage = msg.p, confirming
		m.input.SetValue("")
		if m.typed() {
			return m, m.input.Focus()
		}
		return m, nil
	case tea.KeyPressMsg:
		if m.stage == confirming {
			return m.confirmKey(msg)
		}
		if m.form == nil {
			if key.Matches(msg, m.back) || key.Matches(msg, m.keys.Cancel) {
				m.closed = true
				return m, common.Pop(nil)
			}
			return m, nil
		}
	}
	if m.stage == confirming && m.typed() {
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	if m.form == nil || m.stage != form {
		return m, nil
	}
	f, cmd := m.form.Update(msg)
	if ff, ok := f.(*huh.Form); ok {
		m.form = ff
	}
	switch m.form.State {
	case huh.StateAborted:
		m.closed = true
		return m, common.Pop(nil)
	case huh.StateCompleted:
		return m, m.prepare()
	}
	return m, cmd
}

func (m *Model) confirmKey(k tea.KeyPressMsg) (common.Component, tea.Cmd) {
	switch {
	case key.Matches(k, m.keys.Cancel):
		m.closed = true
		return m, common.Pop(nil)
	case key.Matches(k, m.keys.Confirm):
		if m.typed() && m.input.Value() != m.at.Volume {
			m.err = errTyped(m.at.Volume)
			return m, nil
		}
		return m, m.start()
	}
	if !m.typed() {
		return m, nil
	}
	m.err = nil
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(k)
	return m, cmd
}

type typedError string

func (e typedError) Error() string { return "type " + string(e) + " exactly to confirm" }

func errTyped(name string) error { return typedError(model.SafeText(name)) }

// View draws the stage. Names from libvirt are escaped (model.SafeText).
func (m *Model) View() string {
	if m.progress != nil {
		return m.progress.View()
	}
	s := m.deps.Styles
	var b strings.Builder
	head := model.SafeText(m.action.String() + " drive " + m.at.Pool + "/" + m.at.Volume)
	if m.typed() {
		b.WriteString(s.Bad.Render(keys.DangerMark+" "+head) + "\n\n")
	} else {
		b.WriteString(s.Title.Render(head) + "\n\n")
	}
	if m.err != nil {
		b.WriteString(s.Bad.Render(model.SafeLines(m.err.Error())) + "\n\n")
	}
	switch m.stage {
	case loading:
		if m.err == nil {
			b.WriteString(s.Muted.Render("reading the drive…") + "\n")
		}
		b.WriteString("\n" + s.Muted.Render(keys.Hint(m.back)))
	case form:
		b.WriteString(m.form.View())
	case preparing:
		b.WriteString(s.Muted.Render("checking the drive and every VM of every connected host…"))
	case confirming:
		b.WriteString(m.confirmView())
	}
	return b.String()
}

func (m *Model) confirmView() string {
	s := m.deps.Styles
	p := m.prepared
	var b strings.Builder
	var what string
	switch m.action {
	case Wipe:
		what = "This overwrites every byte of the drive (" + model.IBytes(p.Volume.Capacity) + ") with " + p.Algorithm +
			": its data is gone for good. libvirt reports no progress, and once begun libvirtd finishes the wipe even if you cancel."
	case Upload:
		what = "This overwrites the drive's first " + model.IBytes(p.FileSize) + " with " + model.SafeText(p.File) +
			"; the rest of the drive (" + model.IBytes(p.Volume.Capacity) + ") stays as it is. It cannot be undone."
	case Download:
		what = "This copies the drive (" + model.IBytes(p.Volume.Capacity) + ") into the new file " + model.SafeText(p.File) +
			". Cancelling removes the partial file."
	}
	b.WriteString(m.wrapped(s.Text, what))
	for _, w := range p.Warnings {
		b.WriteString(m.wrapped(s.Warn, "! "+model.SafeLines(w)))
	}
	b.WriteString("\n")
	if m.typed() {
		b.WriteString(s.Text.Render("Type the drive's name to confirm:") + "\n" + m.input.View() + "\n\n")
	}
	b.WriteString(s.Muted.Render(keys.Hint(m.keys.Confirm, m.keys.Cancel)))
	return b.String()
}

// wrapped renders text broken to the screen's width: a confirmation's
// words must be read whole, not cut at the edge.
func (m *Model) wrapped(style lipgloss.Style, text string) string {
	if m.width > 20 {
		text = ansi.Wrap(text, m.width, "")
	}
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		b.WriteString(style.Render(strings.TrimRight(l, " ")) + "\n")
	}
	return b.String()
}

// SetSize records the size.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = w, h
	if m.form != nil && w > 0 {
		m.form.WithWidth(w)
	}
	if m.progress != nil {
		m.progress.SetSize(w, h)
	}
}

// Focus focuses the confirmation's input.
func (m *Model) Focus() {
	if m.stage == confirming && m.typed() {
		m.input.Focus()
	}
}

// Blur blurs it.
func (m *Model) Blur() { m.input.Blur() }

// ShortHelp lists the stage's bindings.
func (m *Model) ShortHelp() []key.Binding {
	switch {
	case m.progress != nil:
		return m.progress.ShortHelp()
	case m.stage == confirming:
		return []key.Binding{m.keys.Confirm, m.keys.Cancel}
	case m.stage == form && m.form != nil:
		return m.form.KeyBinds()
	}
	return []key.Binding{m.back}
}

// FullHelp is ShortHelp in one column.
func (m *Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }

// Title names the screen in breadcrumbs.
func (m *Model) Title() string { return m.action.String() + " drive" }

// Owns routes the progress view's run here (common.Owner).
func (m *Model) Owns(r common.Route) (mine, current bool) {
	if m.progress != nil {
		return m.progress.Owns(r)
	}
	return m.req.Owns(r)
}

// Capturing keeps every key here (typed names and paths, and Ctrl+C
// during the run, which cancels it).
func (m *Model) Capturing() bool {
	if m.progress != nil {
		return m.progress.Capturing()
	}
	return true
}

// Confirms marks the screen as the confirmation a Dangerous action must
// open (keys.Confirmer): wipe and upload ask for the drive's name.
func (m *Model) Confirms() {}

var (
	_ common.Capturing = (*Model)(nil)
	_ keys.Confirmer   = (*Model)(nil)
)
