// Package app is stowage's root bubbletea model: it owns the screen, routes
// messages to the focused view and keeps the global key bindings. It does
// no I/O itself: every backend call is a tea.Cmd built from the Host
// interface, so it imports model and themes, never libvirtx or ceph.
package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/dustin/go-humanize"

	"stowage/model"
	"stowage/themes"
)

// Host is what the console needs of one hypervisor.
type Host interface {
	Name() string
	// Load connects if needed and reads the host's pools.
	Load(ctx context.Context) (HostData, error)
}

// HostData is one read of a host.
type HostData struct {
	LibvirtVersion string
	HVVersion      string
	Pools          []model.Pool
}

// Deps are what the root model is built from.
type Deps struct {
	Hosts   []Host
	Styles  themes.Styles
	Timeout time.Duration
}

type hostState struct {
	host    Host
	loading bool
	data    HostData
	err     error
	reqID   int
}

// Model is the root model.
type Model struct {
	deps          Deps
	hosts         []hostState
	cursor        int
	width, height int
}

// New builds the root model.
func New(d Deps) Model {
	if d.Timeout <= 0 {
		d.Timeout = 15 * time.Second
	}
	m := Model{deps: d}
	for _, h := range d.Hosts {
		m.hosts = append(m.hosts, hostState{host: h, loading: true})
	}
	return m
}

type loadedMsg struct {
	host  int
	reqID int
	data  HostData
	err   error
}

func (m Model) load(i int) tea.Cmd {
	h, id, timeout := m.hosts[i].host, m.hosts[i].reqID, m.deps.Timeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		d, err := h.Load(ctx)
		return loadedMsg{host: i, reqID: id, data: d, err: err}
	}
}

// Init loads every host at once.
func (m Model) Init() tea.Cmd {
	var cmds []tea.Cmd
	for i := range m.hosts {
		cmds = append(cmds, m.load(i))
	}
	return tea.Batch(cmds...)
}

// Update handles keys, sizes and load results.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case loadedMsg:
		if msg.host < len(m.hosts) && m.hosts[msg.host].reqID == msg.reqID {
			h := &m.hosts[msg.host]
			h.loading, h.err = false, msg.err
			if msg.err == nil {
				h.data = msg.data
			}
		}
	case tea.KeyPressMsg:
		switch msg.String() {
		case "q", "ctrl+c":
			return m, tea.Quit
		case "r":
			var cmds []tea.Cmd
			for i := range m.hosts {
				m.hosts[i].reqID++
				m.hosts[i].loading = true
				cmds = append(cmds, m.load(i))
			}
			return m, tea.Batch(cmds...)
		case "up", "k":
			if m.cursor > 0 {
				m.cursor--
			}
		case "down", "j":
			if m.cursor < m.rows()-1 {
				m.cursor++
			}
		}
	}
	return m, nil
}

func (m Model) rows() int {
	n := 0
	for _, h := range m.hosts {
		n += len(h.data.Pools)
	}
	return n
}

// View draws hosts and their pools.
func (m Model) View() tea.View {
	s := m.deps.Styles
	var b strings.Builder
	b.WriteString(s.Title.Render("stowage") + s.Muted.Render("  storage console for libvirt/KVM") + "\n\n")
	row := 0
	for _, h := range m.hosts {
		switch {
		case h.loading && h.data.LibvirtVersion == "":
			b.WriteString(s.Text.Render("● "+h.host.Name()) + s.Muted.Render("  connecting…") + "\n")
		case h.err != nil:
			b.WriteString(s.Bad.Render("● "+h.host.Name()+"  disconnected: ") + s.Text.Render(h.err.Error()) + "\n")
		default:
			b.WriteString(s.Good.Render("● "+h.host.Name()) + s.Muted.Render(fmt.Sprintf("  connected, libvirt %s, hypervisor %s", h.data.LibvirtVersion, h.data.HVVersion)) + "\n")
		}
		if len(h.data.Pools) == 0 {
			continue
		}
		b.WriteString(s.Header.Render(fmt.Sprintf("  %-22s %-13s %-9s %10s %10s %10s  %s", "POOL", "TYPE", "STATE", "CAPACITY", "ALLOC", "AVAIL", "CAN CREATE DRIVES")) + "\n")
		for _, p := range h.data.Pools {
			state := "inactive"
			if p.Active {
				state = "active"
			}
			can, why := model.CreateAbility(p.Type, true)
			flag := "yes"
			if !can {
				flag = "no: " + why
			}
			line := fmt.Sprintf("  %-22s %-13s %-9s %10s %10s %10s  %s", p.Name, p.Type, state,
				humanize.IBytes(p.Capacity), humanize.IBytes(p.Allocation), humanize.IBytes(p.Available), flag)
			if m.width > 0 && len([]rune(line)) > m.width {
				line = string([]rune(line)[:m.width-1]) + "…"
			}
			if row == m.cursor {
				line = s.Selected.Render(line)
			} else {
				line = s.Text.Render(line)
			}
			b.WriteString(line + "\n")
			row++
		}
		b.WriteString("\n")
	}
	b.WriteString(s.Muted.Render("↑/↓ select · r refresh · q quit"))
	v := tea.NewView(b.String())
	v.AltScreen = true
	return v
}
