package iscsiwizard

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"stowage/iscsi"
	"stowage/model"
	"stowage/plan"
	"stowage/ui/common"
)

// Update handles keys and the results of the wizard's Cmds.
func (m *Model) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	defer m.updateKeys()
	switch msg := msg.(type) {
	case presetMsg:
		if !m.req.Current(msg.Route) {
			return m, nil
		}
		if msg.err != nil {
			m.err = msg.err.Error()
			return m, nil
		}
		if m.portal.Value() == "" {
			m.portal.SetValue(msg.portal)
		}
		m.d.Target = msg.target
		return m, nil
	case discoveredMsg:
		if !m.req.Current(msg.Route) {
			return m, nil
		}
		m.busy = ""
		if msg.err != nil {
			m.err = msg.err.Error()
			return m, nil
		}
		if len(msg.targets) == 0 {
			m.err = "no targets at " + m.portalVal.String() + " (or none this host's initiator may see)"
			return m, nil
		}
		m.targets, m.cursor, m.stage = msg.targets, 0, stageTargets
		if i := slices.IndexFunc(m.targets, func(t model.ISCSITarget) bool { return t.IQN == m.d.Target }); i >= 0 {
			m.cursor = i
		}
		return m, nil
	case stepMsg:
		if !m.req.Current(msg.Route) {
			return m, nil
		}
		m.recordStep(msg.step)
		return m, m.listen()
	case phaseDoneMsg:
		if !m.req.Current(msg.Route) {
			return m, nil
		}
		return m, m.phaseDone(msg)
	case tea.KeyPressMsg:
		return m, m.key(msg)
	}
	return m, m.updateInput(msg)
}

// recordStep keeps the latest state of each step (a step is reported
// running, then done or failed).
func (m *Model) recordStep(st iscsi.Step) {
	if n := len(m.steps); n > 0 && m.steps[n-1].Title == st.Title && m.steps[n-1].Status == iscsi.StepRunning && st.Status != iscsi.StepRunning {
		m.steps[n-1] = st
		return
	}
	m.steps = append(m.steps, st)
}

// phaseDone ends a phase. A failed phase was rolled back by the runner
// (what that phase made, nothing earlier): the login phase leaves nothing;
// a failed probe keeps the LUN list; a failed build keeps phase 1 (the
// iscsi pool), drops the findings and the typed token, and goes back to
// the LUNs, which must be read again before anything is overwritten.
func (m *Model) phaseDone(msg phaseDoneMsg) tea.Cmd {
	m.busy = ""
	if msg.phase == stageLUNs {
		// The login used the CHAP secret (libvirt holds it now, or it
		// failed): the wizard's bytes are cleared either way.
		m.wipeSecret()
	}
	if msg.err != nil {
		m.err = msg.err.Error()
		if msg.phase == stageDone {
			if note := m.setup.Phase1Note(); note != "" && !strings.Contains(m.err, note) {
				m.err += "\n" + note
			}
			m.forgetFindings()
			m.stage, m.field = stageLUNs, 0
		}
		return nil
	}
	switch msg.phase {
	case stageLUNs:
		m.luns, m.cursor, m.stage, m.field = msg.luns, 0, stageLUNs, 0
		m.picked = map[int]bool{}
		m.forgetFindings()
	case stageNames:
		if !slices.Equal(msg.probed, m.pickedLUNs()) {
			return nil // the pick changed meanwhile: these findings are not its
		}
		m.findings, m.probedLUNs = msg.findings, msg.probed
		m.confirm.SetValue("")
		m.stage, m.field = stageNames, 0
	case stageDone:
		m.stage = stageDone
	}
	m.focusField()
	return nil
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := m.d.Keys
	switch {
	case key.Matches(msg, k.Back):
		return m.back()
	case key.Matches(msg, k.Next):
		return m.enter()
	case key.Matches(msg, k.Field):
		if n := m.fields(); n > 0 {
			m.field = (m.field + 1) % n
			m.focusField()
		}
		return nil
	case key.Matches(msg, k.XML):
		m.showXML = !m.showXML
		return nil
	case key.Matches(msg, k.Up):
		if m.cursor > 0 {
			m.cursor--
		}
		return nil
	case key.Matches(msg, k.Down):
		if m.cursor < m.listLen()-1 {
			m.cursor++
		}
		return nil
	case key.Matches(msg, k.Toggle):
		if m.cursor < len(m.luns) {
			n := m.luns[m.cursor].Number
			m.picked[n] = !m.picked[n]
			m.forgetFindings()
		}
		return nil
	case key.Matches(msg, k.CreateDrive):
		return common.Push(m.d.CreateDrive(common.DriveTarget{HostURI: m.d.HostURI, Pool: m.pool.Value()}))
	}
	return m.updateInput(msg)
}

func (m *Model) listLen() int {
	if m.stage == stageTargets {
		return len(m.targets)
	}
	return len(m.luns)
}

func (m *Model) updateInput(msg tea.Msg) tea.Cmd {
	if m.busy != "" {
		return nil
	}
	if m.onSecret() {
		switch msg := msg.(type) {
		case tea.KeyPressMsg:
			m.chapSecret.Update(msg)
		case tea.PasteMsg:
			m.chapSecret.Add(msg.Content)
		}
		return nil
	}
	ins := m.inputs()
	if m.field >= len(ins) {
		return nil
	}
	var cmd tea.Cmd
	*ins[m.field], cmd = ins[m.field].Update(msg)
	return cmd
}

// back goes one stage back; from the first stage (or when done) it closes.
// Going back past the target stage keeps the iscsi pool: leaving it is
// harmless, and the wizard's rollback on failure still covers it. Going
// back or closing clears the CHAP secret: a new login asks for it again.
func (m *Model) back() tea.Cmd {
	m.err = ""
	m.wipeSecret()
	switch m.stage {
	case stagePortal:
		return common.Pop(nil)
	case stageDone:
		return common.Pop(PoolReadyMsg{HostURI: m.d.HostURI, Pool: m.pool.Value()})
	case stageNames:
		m.stage = stageLUNs
		m.forgetFindings()
	default:
		m.stage--
		m.forgetFindings()
	}
	m.field = 0
	m.focusField()
	return nil
}

// enter is Enter on a stage: in a form it checks the focused field and
// moves on to the next field the stage still needs (so what is typed next
// lands there, not appended to this one); with none left it submits.
func (m *Model) enter() tea.Cmd {
	if n := m.fields(); n > 0 {
		if err := m.checkField(m.field); err != nil {
			m.err = err.Error()
			return nil
		}
		for i := m.field + 1; i < n; i++ {
			if m.needsInput(i) {
				m.err, m.field = "", i
				m.focusField()
				return nil
			}
		}
	}
	return m.next()
}

// checkField validates one field on its own.
func (m *Model) checkField(i int) error {
	switch {
	case m.stage == stagePortal && i == 0:
		_, err := iscsi.ParsePortal(m.portal.Value())
		return err
	case m.stage == stageNames && i == 0:
		return iscsi.ValidateVGName(m.vg.Value())
	case m.stage == stageNames && i == 1:
		return iscsi.ValidatePoolName(m.pool.Value())
	}
	return nil
}

// needsInput reports whether field i is empty but needed to submit. The
// confirmation is left to next, which says what to type.
func (m *Model) needsInput(i int) bool {
	switch m.stage {
	case stagePortal:
		switch i {
		case 1:
			return m.chapUser.Value() == "" && !m.chapSecret.Empty()
		case secretField:
			return m.chapSecret.Empty() && m.chapUser.Value() != ""
		}
	case stageNames:
		return i == 1 && m.pool.Value() == ""
	}
	return false
}

func (m *Model) next() tea.Cmd {
	m.err = ""
	switch m.stage {
	case stagePortal:
		p, err := iscsi.ParsePortal(m.portal.Value())
		if err != nil {
			m.err = err.Error()
			return nil
		}
		if (m.chapUser.Value() == "") != m.chapSecret.Empty() {
			m.err = "give both CHAP user and secret, or neither"
			return nil
		}
		m.portalVal = p
		return m.discover(p)
	case stageTargets:
		if m.cursor >= len(m.targets) {
			return nil
		}
		req := iscsi.Request{Portal: m.portalVal, Target: m.targets[m.cursor].IQN,
			ISCSIPool: iscsi.ISCSIPoolNameFor(m.targets[m.cursor].IQN)}
		if u := m.chapUser.Value(); u != "" {
			if m.chapSecret.Empty() {
				// An earlier login used (and cleared) it, or going back did.
				m.stage, m.field = stagePortal, secretField
				m.focusField()
				m.err = "type the CHAP secret again (it is cleared once a login used it), then " + m.d.Keys.Next.Help().Key
				return nil
			}
			// The setup reads these bytes during the login phase only;
			// phaseDone clears them.
			m.chapHanded = iscsi.Secret(m.chapSecret.Take())
			req.CHAP = &iscsi.CHAP{User: u, Secret: m.chapHanded}
		}
		m.steps = nil
		m.setup = iscsi.NewSetup(nil, req, nil) // host bound in run
		m.setup.Runner = plan.Runner{Host: m.d.HostURI, Audit: m.d.Audit}
		return m.run(stageLUNs, "logging in to "+req.Target, func(ctx context.Context, s *iscsi.Setup) (outcome, error) {
			luns, err := s.ConnectTarget(ctx)
			return outcome{luns: luns}, err
		})
	case stageLUNs:
		luns := m.pickedLUNs()
		if len(luns) == 0 {
			m.err = "pick at least one LUN (" + m.d.Keys.Toggle.Help().Key + ")"
			return nil
		}
		m.forgetFindings()
		return m.run(stageNames, "reading what LUN "+iscsi.LUNsSummary(luns)+" holds", func(ctx context.Context, s *iscsi.Setup) (outcome, error) {
			f, err := s.Probe(ctx, luns)
			return outcome{findings: &f, probed: luns}, err
		})
	case stageNames:
		for i := range 2 {
			if err := m.checkField(i); err != nil {
				m.err, m.field = err.Error(), i
				m.focusField()
				return nil
			}
		}
		if m.findings == nil || !slices.Equal(m.probedLUNs, m.pickedLUNs()) {
			m.forgetFindings()
			m.stage = stageLUNs
			m.err = "the LUN selection changed since it was checked: press " + m.d.Keys.Next.Help().Key + " to check it again"
			return nil
		}
		if want := m.needsConfirm(); want != "" && m.confirm.Value() != want {
			m.err = fmt.Sprintf("the picked LUNs hold data (above): type %q in Confirm to destroy exactly that", want)
			m.field = 2
			m.focusField()
			return nil
		}
		luns, vg, pool, confirm := m.pickedLUNs(), m.vg.Value(), m.pool.Value(), m.needsConfirm()
		m.setup.SetChoice(luns, vg, pool, confirm)
		return m.run(stageDone, "building VG "+vg, func(ctx context.Context, s *iscsi.Setup) (outcome, error) {
			return outcome{}, s.BuildVG(ctx)
		})
	}
	return nil
}

func (m *Model) pickedLUNs() []int {
	var out []int
	for n, on := range m.picked {
		if on {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out
}

func (m *Model) discover(p iscsi.Portal) tea.Cmd {
	m.busy = "discovering targets at " + p.String()
	id, connect, timeout := m.req.New(), m.d.Connect, m.d.Timeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		h, err := connect(ctx)
		if err != nil {
			return discoveredMsg{Route: id, err: err}
		}
		ts, err := iscsi.Discover(ctx, h, p)
		return discoveredMsg{Route: id, targets: ts, err: err}
	}
}

// outcome is what a phase hands back to Update.
type outcome struct {
	luns     []model.LUN
	findings *iscsi.Findings
	probed   []int
}

// run starts a phase of the setup in a goroutine whose steps stream back
// as stepMsgs, ending with a phaseDoneMsg for the stage it leads to. The
// phase is bounded by Deps.Timeout (minutes), not by one call's timeout.
func (m *Model) run(to stage, busy string, phase func(context.Context, *iscsi.Setup) (outcome, error)) tea.Cmd {
	m.busy = busy
	id, connect, timeout, s := m.req.New(), m.d.Connect, m.d.Timeout, m.setup
	var others func(context.Context) []iscsi.OtherHost
	if to != stageLUNs {
		others = m.d.Others // the probe and the build check every connected host
	}
	ch := make(chan tea.Msg, 64)
	m.events = ch
	go func() {
		defer close(ch)
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		h, err := connect(ctx)
		if err != nil {
			ch <- phaseDoneMsg{Route: id, phase: to, err: err}
			return
		}
		if others != nil {
			s.Others = others(ctx)
		}
		s.Bind(h, func(st iscsi.Step) { ch <- stepMsg{Route: id, step: st} })
		o, err := phase(ctx, s)
		ch <- phaseDoneMsg{Route: id, phase: to, luns: o.luns, findings: o.findings, probed: o.probed, err: err}
	}()
	return m.listen()
}
