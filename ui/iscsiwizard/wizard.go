// Package iscsiwizard is the LVM-on-iSCSI wizard: portal (and CHAP) →
// discovered targets → an iscsi pool for the chosen target → its LUNs →
// a probe of the picked LUNs → VG and pool names (and, only when the probe
// found something, the overwrite token bound to it) → a logical pool that
// can create drives. Every backend call is a tea.Cmd over iscsi.Setup,
// whose steps run through plan.Runner (audited; a failure undoes what that
// phase made). It imports iscsi, model, plan, themes, ui/common and
// ui/keys (its bindings are the keymap's ISCSI scope); never libvirtx.
package iscsiwizard

import (
	"context"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"stowage/iscsi"
	"stowage/model"
	"stowage/plan"
	"stowage/themes"
	"stowage/ui/common"
)

// Deps are what the wizard is built from.
type Deps struct {
	// HostURI names the host, for titles and for CreateDrive's target.
	HostURI string
	// Connect returns the host to work on (dialing if needed); it runs
	// inside a Cmd, never in Update.
	Connect func(ctx context.Context) (iscsi.Host, error)
	Styles  themes.Styles
	// Keys are the console keymap's ISCSI bindings (DefaultKeyMap when
	// unset).
	Keys KeyMap
	// Timeout bounds one phase (discovery, login and LUN listing, probe,
	// build): minutes, not the per-call timeout, since a login or a
	// pvcreate over a slow SAN takes long (default 10m).
	Timeout time.Duration
	// Audit is the audit log every change and refusal goes to.
	Audit *plan.Audit
	// CreateDrive, when set, opens the drive wizard on the new pool.
	CreateDrive func(common.DriveTarget) common.Component
	// Portal and Target preset the first steps; PresetPool names an iscsi
	// pool whose portal and target Init reads (opened from that pool).
	Portal, Target, PresetPool string
	// Others lists the other hosts the console is connected to, each with
	// its connection or why it has none: the probe and the build refuse a
	// LUN that a VM on any of them uses (iscsi.Setup.Others), and a host
	// that cannot be checked. It runs inside the phase's Cmd. Nil: this
	// host only.
	Others func(ctx context.Context) []iscsi.OtherHost
}

// DefaultPhaseTimeout bounds one phase of the wizard.
const DefaultPhaseTimeout = 10 * time.Minute

type stage int

const (
	stagePortal stage = iota
	stageTargets
	stageLUNs
	stageNames
	stageDone
)

// Model is the wizard.
type Model struct {
	d             Deps
	stage         stage
	width, height int
	focused       bool
	busy          string // what runs now; empty when idle
	err           string
	// req numbers the wizard's phases (common.Route): each phase's
	// steps and end are routed here; an older phase's are dropped.
	req     common.Requests
	showXML bool

	portal, chapUser  textinput.Model
	vg, pool, confirm textinput.Model
	// chapSecret is the masked CHAP secret, held in a []byte (never a
	// string) so it can be cleared; it is the portal stage's last field.
	chapSecret common.SecretField
	// chapHanded are the secret's bytes, taken from the field for the
	// login phase (iscsi.CHAP.Secret): cleared when that phase reports
	// back, and when the wizard goes back or closes.
	chapHanded iscsi.Secret
	field      int

	portalVal iscsi.Portal
	targets   []model.ISCSITarget
	cursor    int
	setup     *iscsi.Setup
	luns      []model.LUN
	picked    map[int]bool
	// findings is what the probe found on probedLUNs (nil before a probe
	// or after the pick changed): the overwrite token is bound to it.
	findings   *iscsi.Findings
	probedLUNs []int
	steps      []iscsi.Step
	events     chan tea.Msg
}

var _ common.Component = (*Model)(nil)

// New builds the wizard.
func New(d Deps) *Model {
	if d.Timeout <= 0 {
		d.Timeout = DefaultPhaseTimeout
	}
	if len(d.Keys.Next.Keys()) == 0 {
		d.Keys = DefaultKeyMap()
	}
	in := func(prompt, placeholder string) textinput.Model {
		t := textinput.New()
		t.Prompt, t.Placeholder = prompt, placeholder
		t.SetWidth(50)
		return t
	}
	m := &Model{d: d, picked: map[int]bool{},
		portal:     in("Portal:      ", "host, host:port or [v6addr]:port (port 3260 by default)"),
		chapUser:   in("CHAP user:   ", "empty when the target needs no CHAP"),
		chapSecret: common.SecretField{Prompt: "CHAP secret: ", Mask: "*", AllowSpace: true},
		vg:         in("VG name:     ", "e.g. vg_san"),
		pool:       in("Pool name:   ", "e.g. san"),
		confirm:    in("Confirm:     ", ""),
	}
	m.portal.SetValue(d.Portal)
	m.focusField()
	m.updateKeys()
	return m
}

// Owns routes each phase's results here (common.Owner).
func (m *Model) Owns(r common.Route) (mine, current bool) { return m.req.Owns(r) }

// Title names the wizard in the breadcrumbs.
func (m *Model) Title() string { return "LVM on iSCSI: " + model.SafeText(m.d.HostURI) }

// Init focuses the first field and, when opened from an iscsi pool, reads
// that pool's portal and target.
func (m *Model) Init() tea.Cmd {
	if m.d.PresetPool == "" {
		return textinput.Blink
	}
	id, connect, pool := m.req.New(), m.d.Connect, m.d.PresetPool
	return tea.Batch(textinput.Blink, func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		h, err := connect(ctx)
		if err != nil {
			return presetMsg{Route: id, err: err}
		}
		src, err := h.PoolSourceOf(ctx, pool)
		if err != nil {
			return presetMsg{Route: id, err: err}
		}
		var msg presetMsg
		msg.Route = id
		if len(src.Hosts) > 0 {
			msg.portal = src.Hosts[0]
		}
		if len(src.Devices) > 0 {
			msg.target = src.Devices[0]
		}
		return msg
	})
}

// SetSize records the screen size.
func (m *Model) SetSize(w, h int) { m.width, m.height = w, h }

// Focus and Blur follow the root's focus.
func (m *Model) Focus() { m.focused = true }

// Blur drops focus.
func (m *Model) Blur() { m.focused = false }

// inputs are the stage's text inputs; on the portal stage the CHAP secret
// (not a textinput) follows them as field secretField.
func (m *Model) inputs() []*textinput.Model {
	switch m.stage {
	case stagePortal:
		return []*textinput.Model{&m.portal, &m.chapUser}
	case stageNames:
		if m.needsConfirm() != "" {
			return []*textinput.Model{&m.vg, &m.pool, &m.confirm}
		}
		return []*textinput.Model{&m.vg, &m.pool}
	}
	return nil
}

// secretField is the CHAP secret's field number on the portal stage.
const secretField = 2

// fields counts the stage's fields: its inputs and, on the portal stage,
// the CHAP secret.
func (m *Model) fields() int {
	if m.stage == stagePortal {
		return secretField + 1
	}
	return len(m.inputs())
}

// onSecret reports whether the CHAP secret has the focus.
func (m *Model) onSecret() bool { return m.stage == stagePortal && m.field == secretField }

func (m *Model) focusField() {
	for i, in := range m.inputs() {
		if i == m.field {
			in.Focus()
		} else {
			in.Blur()
		}
	}
	if m.onSecret() {
		m.chapSecret.Focus()
	} else {
		m.chapSecret.Blur()
	}
}

// wipeSecret clears the CHAP secret, typed or handed to a phase: the
// wizard goes back or closes, or the login used it.
func (m *Model) wipeSecret() {
	m.chapSecret.Wipe()
	clear(m.chapHanded)
	m.chapHanded = nil
}

// needsConfirm is the token the admin must type before LUN data is
// overwritten: bound to what the probe found on exactly the picked LUNs;
// "" when the probe found nothing (nothing to confirm) or none ran.
func (m *Model) needsConfirm() string {
	if m.findings == nil {
		return ""
	}
	return m.findings.Token()
}

// forgetFindings drops the probe's findings and the typed confirmation:
// they belong to one LUN selection, and the selection changed (or the
// build failed and the LUNs must be read again).
func (m *Model) forgetFindings() {
	m.findings, m.probedLUNs = nil, nil
	m.confirm.SetValue("")
}

func (m *Model) updateKeys() {
	k := &m.d.Keys
	idle := m.busy == ""
	k.Next.SetEnabled(idle && m.stage != stageDone)
	k.Back.SetEnabled(idle)
	list := m.stage == stageTargets || m.stage == stageLUNs
	k.Up.SetEnabled(idle && list)
	k.Down.SetEnabled(idle && list)
	k.Toggle.SetEnabled(idle && m.stage == stageLUNs)
	k.Field.SetEnabled(idle && m.fields() > 1)
	k.XML.SetEnabled(len(m.steps) > 0)
	k.CreateDrive.SetEnabled(idle && m.stage == stageDone && m.d.CreateDrive != nil)
}

// ShortHelp lists the enabled bindings.
func (m *Model) ShortHelp() []key.Binding {
	var out []key.Binding
	k := m.d.Keys
	for _, b := range []key.Binding{k.Next, k.Back, k.Up, k.Down, k.Toggle, k.Field, k.XML, k.CreateDrive} {
		if b.Enabled() {
			out = append(out, b)
		}
	}
	return out
}

// FullHelp is ShortHelp in one column.
func (m *Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }

// Messages. Each carries the Route of the phase that produced it; the
// root (and Update) drop those of an older phase.
type (
	discoveredMsg struct {
		common.Route
		targets []model.ISCSITarget
		err     error
	}
	presetMsg struct {
		common.Route
		portal, target string
		err            error
	}
	stepMsg struct {
		common.Route
		step iscsi.Step
	}
	phaseDoneMsg struct {
		common.Route
		phase    stage
		luns     []model.LUN
		findings *iscsi.Findings
		probed   []int
		err      error
	}
	// PoolReadyMsg is the wizard's result, delivered to the screen below
	// when it closes after success: the new logical pool. The console's
	// root re-reads the hosts and has the browser select the pool
	// (common.SelectMsg).
	PoolReadyMsg struct {
		HostURI, Pool string
	}
)

func (m *Model) listen() tea.Cmd {
	ch := m.events
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		return msg
	}
}

// Capturing tells the root to pass every key here while a form is shown, so
// typing ':' or 'q' in a portal or a name does not open the palette or quit.
// While a step runs it captures too: ctrl+c must not quit the console with
// a half-built setup (the wizard itself ignores keys until the step ends).
func (m *Model) Capturing() bool { return m.fields() > 0 || m.busy != "" }

var _ common.Capturing = (*Model)(nil)
