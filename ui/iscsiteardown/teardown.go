// Package iscsiteardown is the console's LVM-on-iSCSI teardown: it loads
// the preview (what goes, each with its virsh or LVM command), asks for
// the logical pool's name typed, then shows the run's steps as they
// happen and its result (what was left alone, or what is left and how to
// remove it). It is what the dangerous TeardownISCSI key opens
// (keys.Confirmer).
//
// It imports iscsi (the preview and step types), model, themes, ui/common
// and ui/keys; never libvirtx: the host comes in through Backend.
package iscsiteardown

import (
	"context"
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"stowage/iscsi"
	"stowage/model"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/keys"
)

// Backend reads the preview and runs the confirmed teardown on one host.
type Backend interface {
	Preview(ctx context.Context, pool string) (iscsi.TeardownPreview, error)
	Run(ctx context.Context, pv iscsi.TeardownPreview, confirm string, progress func(iscsi.Step)) (iscsi.TeardownResult, error)
}

// Deps are the screen's dependencies.
type Deps struct {
	At      common.DriveTarget
	Backend Backend
	Styles  themes.Styles
	Keys    keys.ConfirmKeys
	Close   key.Binding
	// PreviewTimeout bounds the preview; RunTimeout the whole run (a
	// logout and a vgremove over the SAN take long).
	PreviewTimeout, RunTimeout time.Duration
}

// DoneMsg is the result the screen pops with after a run (the root then
// re-reads the hosts).
type DoneMsg struct {
	HostURI, Pool string
	Result        iscsi.TeardownResult
	Err           error
}

type stage int

const (
	loading stage = iota
	previewing
	running
	finished
)

type previewMsg struct {
	common.Route
	pv  iscsi.TeardownPreview
	err error
}

type stepMsg struct {
	common.Route
	st iscsi.Step
	ch <-chan tea.Msg
}

type doneMsg struct {
	common.Route
	res iscsi.TeardownResult
	err error
}

// Model is the teardown screen.
type Model struct {
	d       Deps
	stage   stage
	pv      iscsi.TeardownPreview
	loadErr error
	input   textinput.Model
	typeErr string
	steps   []iscsi.Step
	res     iscsi.TeardownResult
	err     error
	req     common.Requests
	width   int
	height  int
}

// New opens the teardown for the pool at.Pool (a logical pool built on an
// iscsi pool, or that iscsi pool) on at.HostURI.
func New(d Deps) *Model {
	if d.PreviewTimeout <= 0 {
		d.PreviewTimeout = 3 * time.Minute
	}
	if d.RunTimeout <= 0 {
		d.RunTimeout = 15 * time.Minute
	}
	m := &Model{d: d, input: textinput.New()}
	m.input.Focus()
	m.updateKeys()
	return m
}

// Init loads the preview.
func (m *Model) Init() tea.Cmd {
	r := m.req.New()
	b, pool, timeout := m.d.Backend, m.d.At.Pool, m.d.PreviewTimeout
	return tea.Batch(textinput.Blink, func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		pv, err := b.Preview(ctx, pool)
		return previewMsg{Route: r, pv: pv, err: err}
	})
}

// Owns routes the preview and the run's stream here (common.Owner).
func (m *Model) Owns(r common.Route) (mine, current bool) { return m.req.Owns(r) }

func (m *Model) updateKeys() {
	m.d.Keys.Confirm.SetEnabled(m.stage == previewing)
	m.d.Keys.Cancel.SetEnabled(m.stage == loading || m.stage == previewing)
	m.d.Keys.Mode.SetEnabled(false)
	m.d.Close.SetEnabled(m.stage == finished)
}

// Update handles the preview, typing, the run's steps and its end.
func (m *Model) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	switch msg := msg.(type) {
	case previewMsg:
		if !m.req.Current(msg.Route) || m.stage != loading {
			return m, nil
		}
		m.pv, m.loadErr = msg.pv, msg.err
		if msg.err == nil {
			m.stage = previewing
			m.input.Placeholder = model.SafeText(msg.pv.ConfirmName())
		}
		m.updateKeys()
		return m, nil
	case stepMsg:
		if !m.req.Current(msg.Route) {
			return m, nil
		}
		m.addStep(msg.st)
		return m, listen(msg.ch)
	case doneMsg:
		if !m.req.Current(msg.Route) {
			return m, nil
		}
		m.stage, m.res, m.err = finished, msg.res, msg.err
		m.updateKeys()
		return m, nil
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	if m.stage == previewing {
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	return m, nil
}

func (m *Model) key(k tea.KeyPressMsg) (common.Component, tea.Cmd) {
	switch {
	case key.Matches(k, m.d.Keys.Cancel):
		return m, common.Pop(nil)
	case key.Matches(k, m.d.Close):
		return m, common.Pop(DoneMsg{HostURI: m.d.At.HostURI, Pool: m.d.At.Pool, Result: m.res, Err: m.err})
	case key.Matches(k, m.d.Keys.Confirm):
		if m.input.Value() != m.pv.ConfirmName() {
			m.typeErr = fmt.Sprintf("type %q exactly to confirm", m.pv.ConfirmName())
			return m, nil
		}
		return m, m.start()
	}
	if m.stage != previewing {
		return m, nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(k)
	m.typeErr = ""
	return m, cmd
}

// start runs the teardown; its steps come back as a stream of messages
// on one channel, read by a Cmd that re-arms itself.
func (m *Model) start() tea.Cmd {
	m.stage = running
	m.input.Blur()
	m.updateKeys()
	r := m.req.New()
	b, pv, confirm, timeout := m.d.Backend, m.pv, m.input.Value(), m.d.RunTimeout
	ch := make(chan tea.Msg, 16)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		res, err := b.Run(ctx, pv, confirm, func(st iscsi.Step) {
			ch <- stepMsg{Route: r, st: st, ch: ch}
		})
		ch <- doneMsg{Route: r, res: res, err: err}
		close(ch)
	}()
	return listen(ch)
}

func listen(ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		return msg
	}
}

// addStep records a step, replacing its running line when it ends.
func (m *Model) addStep(st iscsi.Step) {
	if n := len(m.steps); n > 0 && st.ID != "" && m.steps[n-1].ID == st.ID && m.steps[n-1].Status == iscsi.StepRunning {
		m.steps[n-1] = st
		return
	}
	m.steps = append(m.steps, st)
}

// SetSize records the size.
func (m *Model) SetSize(w, h int) { m.width, m.height = w, h }

// Focus focuses the input while the name is asked for.
func (m *Model) Focus() {
	if m.stage == previewing || m.stage == loading {
		m.input.Focus()
	}
}

// Blur blurs the input.
func (m *Model) Blur() { m.input.Blur() }

// ShortHelp lists the bindings of the current stage.
func (m *Model) ShortHelp() []key.Binding {
	var out []key.Binding
	for _, b := range []key.Binding{m.d.Keys.Confirm, m.d.Keys.Cancel, m.d.Close} {
		if b.Enabled() {
			out = append(out, b)
		}
	}
	return out
}

// FullHelp is ShortHelp in one column.
func (m *Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }

// Title names the screen.
func (m *Model) Title() string { return "tear down LVM on iSCSI" }

// Capturing keeps every key here: the name is typed, and a run must not
// be left by a global key.
func (m *Model) Capturing() bool { return true }

// Confirms marks the screen as the confirmation the dangerous
// TeardownISCSI key must open (keys.Confirmer).
func (m *Model) Confirms() {}

var (
	_ common.Capturing = (*Model)(nil)
	_ common.Owner     = (*Model)(nil)
	_ keys.Confirmer   = (*Model)(nil)
)
