package pooldefine

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/keys"
)

// needsDiscovery: the types whose sources the host can offer.
func needsDiscovery(typ string) bool {
	switch model.PoolType(typ) {
	case model.PoolNetFS, model.PoolLogical, model.PoolDisk, model.PoolFS, model.PoolISCSI, model.PoolISCSIDirect:
		return true
	}
	return false
}

// Update routes messages by phase.
func (m *Model) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	if m.closed {
		return m, nil
	}
	k := m.d.bindings().DriveWizard
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.SetSize(msg.Width, msg.Height)
		return m, nil
	case connectedMsg:
		if !m.req.Current(msg.Route) {
			return m, nil
		}
		if msg.err != nil {
			m.err = msg.err
			return m, nil
		}
		m.backend, m.existing, m.phase = msg.b, msg.names, typeForm
		m.buildTypeForm()
		return m, m.form.Init()
	case discoveredMsg:
		if !m.req.Current(msg.Route) {
			return m, nil
		}
		m.found, m.discoverErr, m.phase = msg.found, msg.err, fieldsForm
		m.buildFieldsForm()
		return m, m.form.Init()
	case preparedMsg:
		if !m.req.Current(msg.Route) {
			return m, nil
		}
		m.phase = fieldsForm
		if msg.err != nil {
			// Back to the fields, the cause above them (a name taken
			// meanwhile, a VG that is not there).
			m.err = msg.err
			m.buildFieldsForm()
			return m, m.form.Init()
		}
		m.err, m.xml, m.phase, m.scroll = nil, msg.xml, review, 0
		return m, nil
	}
	switch m.phase {
	case loading, discovering, preparing:
		if kp, ok := msg.(tea.KeyPressMsg); ok && key.Matches(kp, k.Back) {
			if m.phase == loading {
				m.closed = true
				return m, common.Pop(nil)
			}
			// A discovery or a check that takes long: back to the type;
			// its late answer is dropped (a newer request is current).
			m.req.New()
			m.phase = typeForm
			m.buildTypeForm()
			return m, m.form.Init()
		}
	case typeForm, fieldsForm:
		return m.updateForm(msg)
	case review:
		if kp, ok := msg.(tea.KeyPressMsg); ok {
			switch {
			case key.Matches(kp, k.Down):
				m.scroll++
			case key.Matches(kp, k.Up):
				m.scroll = max(0, m.scroll-1)
			case key.Matches(kp, k.Create):
				return m, m.start()
			case key.Matches(kp, k.Back):
				m.phase = fieldsForm
				m.buildFieldsForm()
				return m, m.form.Init()
			}
		}
	case running:
		_, cmd := m.progress.Update(msg)
		return m, cmd
	}
	return m, nil
}

func (m *Model) updateForm(msg tea.Msg) (common.Component, tea.Cmd) {
	f, cmd := m.form.Update(msg)
	if hf, ok := f.(*huh.Form); ok {
		m.form = hf
	}
	switch m.form.State {
	case huh.StateAborted:
		if m.phase == fieldsForm {
			m.err = nil
			m.phase = typeForm
			m.buildTypeForm()
			return m, m.form.Init()
		}
		m.closed = true
		return m, common.Pop(nil)
	case huh.StateCompleted:
		if m.phase == typeForm {
			m.err = nil
			if needsDiscovery(m.f.typ) {
				return m, m.discover()
			}
			m.found, m.discoverErr, m.phase = discovered{}, nil, fieldsForm
			m.buildFieldsForm()
			return m, m.form.Init()
		}
		return m, m.prepare()
	}
	return m, cmd
}

// View draws the current phase.
func (m *Model) View() string {
	s := m.d.Styles
	back := m.d.bindings().DriveWizard.Back
	switch m.phase {
	case loading:
		if m.err != nil {
			return s.Bad.Render("cannot open the form: ") + s.Text.Render(model.SafeLines(m.err.Error())) + "\n\n" + s.Muted.Render(keys.Hint(back))
		}
		return s.Muted.Render("reading the pools of " + model.SafeText(m.d.HostURI) + "…")
	case discovering:
		return s.Muted.Render(fmt.Sprintf("discovering what a %s pool can use on %s… (%s)", m.f.typ, model.SafeText(m.d.HostURI),
			keys.Hint(keys.WithHelp(back, "type instead"))))
	case preparing:
		return s.Muted.Render("checking the pool against the host…")
	case typeForm, fieldsForm:
		out := m.form.View()
		if m.err != nil {
			out = s.Bad.Render(model.SafeLines(m.err.Error())) + "\n\n" + out
		}
		return out
	case review:
		return m.scrolled(m.reviewView())
	case running:
		return m.progress.View()
	}
	return ""
}

func (m *Model) reviewView() string {
	s := m.d.Styles
	spec := m.f.spec()
	var b strings.Builder
	b.WriteString(s.Title.Render("Review: define "+spec.Type+" pool "+model.SafeText(spec.Name)) + "\n\n")
	b.WriteString(s.Header.Render(" steps ") + "\n")
	for i, st := range model.DefinePlan(spec) {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, model.SafeText(st.Title))
	}
	if spec.BuildMode() == model.BuildOverwrite {
		b.WriteString(s.Warn.Render("the build destroys what "+model.SafeText(strings.Join(spec.Devices, ", "))+" holds") + "\n")
	}
	b.WriteString("\n" + s.Header.Render(" pool XML ") + "\n" + s.Muted.Render(model.SafeLines(m.xml)) + "\n")
	b.WriteString("\n" + s.Header.Render(" virsh equivalent ") + "\n" +
		s.Muted.Render(model.SafeLines(strings.Join(model.VirshDefine(spec, spec.Name+".xml"), "\n"))) + "\n")
	b.WriteString("\n" + s.Muted.Render("if a step fails, what this run made is undone (by UUID); a secret file is read only when the run starts"))
	return b.String()
}

func (m *Model) scrolled(body string) string {
	s := m.d.Styles
	k := m.d.bindings().DriveWizard
	footer := s.Title.Render(keys.Hint(keys.WithHelp(k.Create, "define"))) +
		s.Muted.Render(" · "+k.Up.Help().Key+"/"+k.Down.Help().Key+" scroll · "+keys.Hint(keys.WithHelp(k.Back, "back to the form")))
	lines := strings.Split(body, "\n")
	room := m.height - 2
	if room <= 0 || len(lines) <= room {
		return body + "\n" + footer
	}
	m.scroll = min(m.scroll, len(lines)-room)
	return strings.Join(lines[m.scroll:m.scroll+room], "\n") + "\n" + footer
}

// SetSize passes the size on.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	if m.form != nil && width > 0 {
		m.form.WithWidth(width)
	}
	if m.progress != nil {
		m.progress.SetSize(width, height)
	}
}

// Focus is a no-op: the screen is full.
func (m *Model) Focus() {}

// Blur is a no-op.
func (m *Model) Blur() {}

// ShortHelp lists the bindings of the current phase.
func (m *Model) ShortHelp() []key.Binding {
	k := m.d.bindings().DriveWizard
	switch m.phase {
	case typeForm, fieldsForm:
		return m.form.KeyBinds()
	case review:
		return []key.Binding{keys.WithHelp(k.Create, "define"), k.Up, k.Down, k.Back}
	case running:
		return m.progress.ShortHelp()
	}
	return []key.Binding{k.Back}
}

// FullHelp is ShortHelp in one column.
func (m *Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }

var _ common.Component = (*Model)(nil)
