// Package firstpool is the form that creates a host's first pool: dir
// (name, path) or rbd (name, monitors, Ceph pool, cephx user and key).
// The cephx key is typed in a masked field, sent to libvirt as a private
// secret and cleared; it is never shown, logged or kept in a message. It
// imports ui/common, ui/data, ui/keys, themes and libvirtx types.
package firstpool

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"stowage/libvirtx"
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

type doneMsg struct {
	owner *Model
	err   error
}

// Model is the form.
type Model struct {
	store  *data.Store
	host   int
	typ    string
	labels []string
	inputs []textinput.Model
	focus  int
	busy   bool
	err    error
	km     keys.Map
	st     themes.Styles
}

// New builds the form for a dir or rbd pool on host.
func New(store *data.Store, host int, typ string, km keys.Map, st themes.Styles) *Model {
	m := &Model{store: store, host: host, typ: typ, km: km, st: st}
	add := func(label, placeholder string, masked bool) {
		ti := textinput.New()
		ti.Placeholder = placeholder
		ti.SetWidth(48)
		if masked {
			ti.EchoMode = textinput.EchoPassword
		}
		m.labels = append(m.labels, label)
		m.inputs = append(m.inputs, ti)
	}
	switch typ {
	case "rbd":
		add("name", "ceph", false)
		add("monitors", "10.0.0.1:6789,10.0.0.2:6789", false)
		add("Ceph pool", "rbd", false)
		add("cephx user", "libvirt", false)
		add("cephx key", "base64, as in `ceph auth get-key client.libvirt`", true)
	default:
		add("name", "default", false)
		add("path", "/var/lib/libvirt/images", false)
	}
	m.inputs[0].Focus()
	return m
}

// Title names the screen.
func (m *Model) Title() string { return "new " + m.typ + " pool" }

// Capturing: the form takes every key.
func (m *Model) Capturing() bool { return true }

// Init starts the cursor blinking.
func (m *Model) Init() tea.Cmd { return textinput.Blink }

func (m *Model) values() []string {
	out := make([]string, len(m.inputs))
	for i, in := range m.inputs {
		out[i] = strings.TrimSpace(in.Value())
	}
	return out
}

// spec checks the fields and returns the pool spec and the decoded key.
func (m *Model) spec() (libvirtx.PoolSpec, []byte, error) {
	v := m.values()
	if v[0] == "" {
		return libvirtx.PoolSpec{}, nil, fmt.Errorf("give the pool a name")
	}
	s := libvirtx.PoolSpec{Name: v[0], Type: m.typ}
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
	// libvirt's ceph secret holds the raw key: the base64 text decoded.
	k, err := base64.StdEncoding.DecodeString(m.inputs[4].Value())
	if err != nil || len(k) == 0 {
		return s, nil, fmt.Errorf("the cephx key is not base64 (copy it from `ceph auth get-key client.%s`)", s.CephUser)
	}
	return s, k, nil
}

// Update edits fields; Tab/↓ and ↑ move, Enter on the last field creates,
// Esc cancels.
func (m *Model) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	switch msg := msg.(type) {
	case doneMsg:
		if msg.owner != m {
			return m, nil
		}
		m.busy, m.err = false, msg.err
		if msg.err == nil {
			return m, common.Pop(CreatedMsg{Host: m.host, Pool: m.values()[0]})
		}
		return m, nil
	case tea.KeyPressMsg:
		if m.busy {
			return m, nil
		}
		switch msg.String() {
		case "esc":
			return m, common.Pop(nil)
		case "tab", "down":
			return m, m.move(1)
		case "shift+tab", "up":
			return m, m.move(-1)
		case "enter":
			if m.focus < len(m.inputs)-1 {
				return m, m.move(1)
			}
			return m, m.submit()
		}
	}
	var cmd tea.Cmd
	m.inputs[m.focus], cmd = m.inputs[m.focus].Update(msg)
	return m, cmd
}

func (m *Model) move(d int) tea.Cmd {
	m.inputs[m.focus].Blur()
	m.focus = (m.focus + d + len(m.inputs)) % len(m.inputs)
	return m.inputs[m.focus].Focus()
}

func (m *Model) submit() tea.Cmd {
	spec, k, err := m.spec()
	if err != nil {
		m.err = err
		return nil
	}
	m.busy, m.err = true, nil
	// The key leaves the form: the field is cleared now, the bytes after
	// the call.
	m.inputs[len(m.inputs)-1].SetValue("")
	b, host, timeout := m.store.Backend(), m.host, m.store.Timeout()
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 2*timeout)
		defer cancel()
		err := b.CreatePool(ctx, host, spec, k)
		clear(k)
		return doneMsg{owner: m, err: err}
	}
}

// View renders the form.
func (m *Model) View() string {
	var b strings.Builder
	b.WriteString(m.st.Title.Render("Create a first "+m.typ+" pool") + "\n\n")
	for i, in := range m.inputs {
		label := fmt.Sprintf("%-11s", m.labels[i])
		if i == m.focus {
			label = m.st.Title.Render(label)
		} else {
			label = m.st.Muted.Render(label)
		}
		b.WriteString("  " + label + " " + in.View() + "\n")
	}
	b.WriteString("\n")
	switch {
	case m.busy:
		b.WriteString(m.st.Muted.Render("  creating…"))
	case m.err != nil:
		b.WriteString(m.st.Bad.Render("  " + m.err.Error()))
	default:
		b.WriteString(m.st.Muted.Render("  tab next field · enter on the last field creates · esc cancels"))
	}
	return b.String()
}

// SetSize is a no-op: the form has a fixed layout.
func (m *Model) SetSize(int, int) {}

// Focus is a no-op.
func (m *Model) Focus() {}

// Blur is a no-op.
func (m *Model) Blur() {}

// ShortHelp lists the form's keys.
func (m *Model) ShortHelp() []key.Binding { return []key.Binding{m.km.Back} }

// FullHelp groups the form's keys.
func (m *Model) FullHelp() [][]key.Binding { return [][]key.Binding{{m.km.Back}} }
