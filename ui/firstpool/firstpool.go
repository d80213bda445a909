// Package firstpool is the form that creates a host's first pool: dir
// (name, path) or rbd (name, monitors, Ceph pool, cephx user and key).
// The creation runs as a plan (package plan, through the backend): each
// step's progress is a line on this screen, with what is left to do and,
// after a failure, what was undone or left behind.
//
// The cephx key is typed into a masked field that holds it in a []byte
// (never a Go string), decoded into another []byte, sent to libvirt as a
// private secret, and both are cleared; it is never shown, logged or kept
// in a message. Its keys are the keymap's FirstPool bindings. It imports
// ui/common, ui/data, ui/keys, plan, model and themes; never libvirtx.
package firstpool

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"stowage/model"
	"stowage/plan"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/data"
	"stowage/ui/keys"
)

// CreatedMsg is the form's result: the pool now exists.
type CreatedMsg struct {
	Host int
	Pool string
}

// doneMsg and eventMsg are routed to the form that started the run
// (common.Route), wherever it is on the stack.
type doneMsg struct {
	common.Route
	err error
}

// eventMsg is one plan event; ch and res carry the rest of the run.
type eventMsg struct {
	common.Route
	ev  plan.Event
	ch  <-chan plan.Event
	res <-chan error
}

// Model is the form.
type Model struct {
	store  *data.Store
	host   int
	typ    string
	labels []string
	inputs []textinput.Model
	// key is the cephx key field (rbd), after the text inputs.
	key   *common.SecretField
	focus int
	// req names the form for its run's results (common.Route).
	req  common.Requests
	busy bool
	err  error
	// steps, marks and notes are the running plan's lines.
	steps []model.Step
	marks []string
	notes []string
	km    keys.Map
	st    themes.Styles
}

// New builds the form for a dir or rbd pool on host.
func New(store *data.Store, host int, typ string, km keys.Map, st themes.Styles) *Model {
	m := &Model{store: store, host: host, typ: typ, km: km, st: st}
	add := func(label, placeholder string) {
		ti := textinput.New()
		ti.Placeholder = placeholder
		ti.SetWidth(48)
		m.labels = append(m.labels, label)
		m.inputs = append(m.inputs, ti)
	}
	switch typ {
	case "rbd":
		add("name", "ceph")
		add("monitors", "10.0.0.1:6789,10.0.0.2:6789")
		add("Ceph pool", "rbd")
		add("cephx user", "libvirt")
		m.labels = append(m.labels, "cephx key")
		m.key = &common.SecretField{Placeholder: "(typed masked; base64, as in `ceph auth get-key client.libvirt`)"}
	default:
		add("name", "default")
		add("path", "/var/lib/libvirt/images")
	}
	m.inputs[0].Focus()
	return m
}

// Title names the screen.
func (m *Model) Title() string { return "new " + m.typ + " pool" }

// Owns routes the run's results to this form (common.Owner).
func (m *Model) Owns(r common.Route) (mine, current bool) { return m.req.Owns(r) }

// Capturing: the form takes every key.
func (m *Model) Capturing() bool { return true }

// Init starts the cursor blinking.
func (m *Model) Init() tea.Cmd { return textinput.Blink }

func (m *Model) fields() int { return len(m.labels) }

func (m *Model) values() []string {
	out := make([]string, len(m.inputs))
	for i, in := range m.inputs {
		out[i] = strings.TrimSpace(in.Value())
	}
	return out
}

// spec checks the fields and returns the pool spec and the decoded key
// (rbd). The typed key is cleared here, decoded or not.
func (m *Model) spec() (model.PoolSpec, []byte, error) {
	v := m.values()
	if v[0] == "" {
		return model.PoolSpec{}, nil, fmt.Errorf("give the pool a name")
	}
	s := model.PoolSpec{Name: v[0], Type: m.typ}
	if m.typ == "dir" {
		if !strings.HasPrefix(v[1], "/") {
			return s, nil, fmt.Errorf("the path must be absolute, e.g. /var/lib/libvirt/images")
		}
		s.Path = v[1]
		return s, nil, nil
	}
	for _, mon := range strings.Split(v[1], ",") {
		if mon = strings.TrimSpace(mon); mon != "" {
			s.Monitors = append(s.Monitors, mon)
		}
	}
	s.CephPool, s.CephUser = v[2], strings.TrimPrefix(v[3], "client.")
	if len(s.Monitors) == 0 || s.CephPool == "" || s.CephUser == "" {
		return s, nil, fmt.Errorf("monitors, Ceph pool and cephx user are all needed")
	}
	if m.key.Empty() {
		return s, nil, fmt.Errorf("type the cephx key of client.%s (`ceph auth get-key client.%s`)", s.CephUser, s.CephUser)
	}
	typed := m.key.Take()
	defer clear(typed)
	// libvirt's ceph secret holds the raw key: the base64 text decoded.
	k := make([]byte, base64.StdEncoding.DecodedLen(len(typed)))
	n, err := base64.StdEncoding.Decode(k, typed)
	if err != nil || n == 0 {
		clear(k)
		return s, nil, fmt.Errorf("the cephx key is not base64 (copy it from `ceph auth get-key client.%s`); it was cleared, type it again", s.CephUser)
	}
	return s, k[:n], nil
}

// Update edits fields; Tab/↓ and ↑ move, Enter on the last field creates,
// Esc cancels (and clears the key).
func (m *Model) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	switch msg := msg.(type) {
	case eventMsg:
		if !m.req.Current(msg.Route) {
			return m, nil
		}
		m.apply(msg.ev)
		return m, next(msg.Route, msg.ch, msg.res)
	case doneMsg:
		if !m.req.Current(msg.Route) {
			return m, nil
		}
		m.busy, m.err = false, msg.err
		if msg.err == nil {
			return m, common.Pop(CreatedMsg{Host: m.host, Pool: m.values()[0]})
		}
		return m, nil
	case tea.PasteMsg:
		if !m.busy && m.onKey() {
			m.key.Add(msg.Content)
			return m, nil
		}
	case tea.KeyPressMsg:
		if m.busy {
			return m, nil
		}
		k := m.km.FirstPool
		switch {
		case key.Matches(msg, k.Cancel):
			if m.key != nil {
				m.key.Wipe()
			}
			return m, common.Pop(nil)
		case key.Matches(msg, k.Next):
			return m, m.move(1)
		case key.Matches(msg, k.Prev):
			return m, m.move(-1)
		case key.Matches(msg, k.Submit):
			if m.focus < m.fields()-1 {
				return m, m.move(1)
			}
			return m, m.submit()
		}
		if m.onKey() {
			m.key.Update(msg)
			return m, nil
		}
	}
	if m.onKey() {
		return m, nil
	}
	var cmd tea.Cmd
	m.inputs[m.focus], cmd = m.inputs[m.focus].Update(msg)
	return m, cmd
}

// onKey reports whether the focus is on the cephx key field.
func (m *Model) onKey() bool { return m.key != nil && m.focus == len(m.inputs) }

func (m *Model) move(d int) tea.Cmd {
	if m.onKey() {
		m.key.Blur()
	} else {
		m.inputs[m.focus].Blur()
	}
	m.focus = (m.focus + d + m.fields()) % m.fields()
	if m.onKey() {
		m.key.Focus()
		return nil
	}
	return m.inputs[m.focus].Focus()
}

func (m *Model) submit() tea.Cmd {
	spec, k, err := m.spec()
	if err != nil {
		m.err = err
		return nil
	}
	m.busy, m.err = true, nil
	m.steps = model.PoolPlan(spec.Type, spec.Name)
	m.marks = make([]string, len(m.steps))
	m.notes = make([]string, len(m.steps))
	b, host, timeout := m.store.Backend(), m.host, m.store.Timeout()
	ch := make(chan plan.Event)
	res := make(chan error, 1)
	first := next(m.req.New(), ch, res)
	return func() tea.Msg {
		go func() {
			// Each libvirt call is bounded by the timeout; this bounds the
			// plan, checked between steps (a cancel then rolls back).
			ctx, cancel := context.WithTimeout(context.Background(), 10*timeout)
			defer cancel()
			err := b.CreatePool(ctx, host, spec, k, ch)
			clear(k)
			close(ch)
			res <- err
		}()
		return first()
	}
}

// next reads the run's next event, or its result once the events end.
func next(r common.Route, ch <-chan plan.Event, res <-chan error) tea.Cmd {
	return func() tea.Msg {
		e, ok := <-ch
		if !ok {
			return doneMsg{Route: r, err: <-res}
		}
		return eventMsg{Route: r, ev: e, ch: ch, res: res}
	}
}

// apply turns a plan event into the mark and note of its step's line.
func (m *Model) apply(e plan.Event) {
	i := -1
	for k, s := range m.steps {
		if s.ID == e.Step.ID {
			i = k
		}
	}
	set := func(mark, note string) {
		if i >= 0 {
			m.marks[i], m.notes[i] = mark, note
		}
	}
	switch e.Kind {
	case plan.StepStarted:
		set("…", "")
	case plan.StepRetrying:
		set("…", e.Note)
	case plan.StepDone:
		set("✓", "")
	case plan.StepFailed:
		set("✗", errText(e.Err))
	case plan.StepUndone:
		set("↶", e.Note)
	case plan.UndoKept:
		set("!", e.Note)
	case plan.UndoFailed:
		set("✗", e.Note)
	case plan.AuditFailed:
		m.notes = append(m.notes, e.Note)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// View renders the form and, once it runs, the plan's lines.
func (m *Model) View() string {
	k := m.km.FirstPool
	var b strings.Builder
	b.WriteString(m.st.Title.Render("Create a first "+m.typ+" pool") + "\n\n")
	for i, l := range m.labels {
		label := fmt.Sprintf("%-11s", l)
		if i == m.focus {
			label = m.st.Title.Render(label)
		} else {
			label = m.st.Muted.Render(label)
		}
		field := ""
		if i < len(m.inputs) {
			field = m.inputs[i].View()
		} else {
			field = m.key.View()
		}
		b.WriteString("  " + label + " " + field + "\n")
	}
	b.WriteString("\n")
	for i, s := range m.steps {
		mark := m.marks[i]
		if mark == "" {
			mark = "·"
		}
		line := fmt.Sprintf("  %s %s", mark, model.SafeText(s.Title))
		if m.notes[i] != "" {
			line += ": " + model.SafeText(m.notes[i])
		}
		switch mark {
		case "✗", "!":
			b.WriteString(m.st.Bad.Render(line) + "\n")
		case "·":
			b.WriteString(m.st.Muted.Render(line) + "\n")
		default:
			b.WriteString(m.st.Text.Render(line) + "\n")
		}
	}
	for _, n := range m.notes[min(len(m.steps), len(m.notes)):] {
		b.WriteString(m.st.Warn.Render("  "+model.SafeText(n)) + "\n")
	}
	if len(m.steps) > 0 {
		b.WriteString("\n")
	}
	switch {
	case m.busy:
		b.WriteString(m.st.Muted.Render("  creating…"))
	case m.err != nil:
		b.WriteString(m.st.Bad.Render("  " + model.SafeLines(m.err.Error())))
		if m.key != nil {
			b.WriteString("\n" + m.st.Muted.Render("  the cephx key was cleared: type it again to retry · "+k.Cancel.Help().Key+" cancels"))
		}
	default:
		b.WriteString(m.st.Muted.Render("  " + k.Next.Help().Key + " next field · " + k.Submit.Help().Key + " on the last field creates · " + k.Cancel.Help().Key + " cancels"))
	}
	return b.String()
}

// SetSize is a no-op: the form has a fixed layout.
func (m *Model) SetSize(int, int) {}

// Focus is a no-op.
func (m *Model) Focus() {}

// Blur is a no-op.
func (m *Model) Blur() {}

// ShortHelp lists the form's keys (none while the pool is created).
func (m *Model) ShortHelp() []key.Binding {
	k := m.km.FirstPool
	return []key.Binding{keys.Enable(k.Next, !m.busy), keys.Enable(k.Prev, !m.busy),
		keys.Enable(k.Submit, !m.busy), keys.Enable(k.Cancel, !m.busy)}
}

// FullHelp groups the form's keys.
func (m *Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }
