// Package poolaction is the console's screen for one pool action (start,
// stop, refresh, autostart on/off, build, delete, undefine). It reads the
// pool and checks the action first (package pool's Prepare, in a tea.Cmd
// with a timeout), showing a refusal with its reason, or "already …".
// Dangerous actions (stop, build, delete, undefine: the keys that carry
// the danger mark) then show the plan, the warnings and the pool's UUID,
// and ask for the pool's name to be typed; build offers overwrite on the
// mode key. The others run at once. Either way the action runs in
// driveprogress's view (steps, cancel and roll back), on the UUID read
// when the screen opened, and closes with a result that makes the
// console re-read the hosts.
//
// It imports model, plan and pool (types and the Backend it declares),
// themes, ui/common, ui/keys and ui/driveprogress; never libvirtx or ceph.
package poolaction

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"stowage/drive"
	"stowage/model"
	"stowage/plan"
	"stowage/pool"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/driveprogress"
	"stowage/ui/keys"
)

// Backend is one host's pool actions; cli adapts package pool and a
// libvirt connection (with the console's other hosts as peers) to it.
type Backend interface {
	Prepare(ctx context.Context, s pool.Spec) (pool.Prepared, error)
	Run(ctx context.Context, pr pool.Prepared, confirm string, events chan<- plan.Event) (pool.Result, error)
}

// Deps are the screen's dependencies.
type Deps struct {
	// Backend returns the host named by its URI.
	Backend func(hostURI string) (Backend, error)
	Styles  themes.Styles
	// Timeout bounds one libvirt call; the check (Prepare) gets a few.
	Timeout time.Duration
	// Keys is the console's keymap: Confirm and Progress bindings.
	Keys keys.Map
}

// AutostartOff is the action name that clears autostart (the pools view
// passes it for a pool whose autostart is on: the key toggles).
const AutostartOff = "autostart off"

// SpecFor turns the view's action name into the spec.
func SpecFor(poolName, action string) (pool.Spec, error) {
	if action == AutostartOff {
		return pool.Spec{Action: pool.Autostart, Pool: poolName, Off: true}, nil
	}
	a, err := pool.ParseAction(action)
	if err != nil {
		return pool.Spec{}, err
	}
	return pool.Spec{Action: a, Pool: poolName}, nil
}

// preparedMsg is Prepare's answer.
type preparedMsg struct {
	common.Route
	pr  pool.Prepared
	err error
}

// Screen is one pool action: check, confirmation where dangerous,
// progress.
type Screen struct {
	d     Deps
	at    common.DriveTarget
	spec  pool.Spec
	keys  keys.ConfirmKeys
	req   common.Requests
	pr    *pool.Prepared
	err   error
	input textinput.Model
	// mistyped: the last Enter came with another name than the pool's.
	mistyped bool
	progress *driveprogress.Model
	width    int
	height   int
}

// New opens the screen for action ("start", "stop", "refresh",
// "autostart", AutostartOff, "build", "delete", "undefine") on at's pool.
func New(d Deps, at common.DriveTarget, action string) common.Component {
	if len(d.Keys.Confirm.Confirm.Keys()) == 0 {
		d.Keys = keys.Default()
	}
	if d.Timeout <= 0 {
		d.Timeout = 15 * time.Second
	}
	s := &Screen{d: d, at: at, keys: d.Keys.Confirm, input: textinput.New()}
	s.spec, s.err = SpecFor(at.Pool, action)
	s.keys.Mode = keys.WithHelp(s.keys.Mode, "overwrite on/off")
	s.input.Placeholder = model.SafeText(at.Pool)
	s.updateKeys()
	return s
}

// confirms: the actions whose key carries the danger mark ask for the
// typed name; build too (the key is dangerous for its overwrite).
func (s *Screen) confirms() bool {
	switch s.spec.Action {
	case pool.Stop, pool.Build, pool.Delete, pool.Undefine:
		return true
	}
	return false
}

func (s *Screen) asking() bool {
	return s.progress == nil && s.pr != nil && s.pr.Already == "" && s.err == nil && s.confirms()
}

func (s *Screen) updateKeys() {
	ask := s.asking()
	s.keys.Confirm.SetEnabled(ask)
	s.keys.Mode.SetEnabled(ask && s.spec.Action == pool.Build)
	s.keys.Cancel.SetEnabled(s.progress == nil)
	if ask {
		s.input.Focus()
	} else {
		s.input.Blur()
	}
}

// Init checks the action against the pool.
func (s *Screen) Init() tea.Cmd {
	if s.err != nil {
		return nil
	}
	return s.prepare()
}

func (s *Screen) prepare() tea.Cmd {
	r, spec, uri, timeout, backend := s.req.New(), s.spec, s.at.HostURI, 4*s.d.Timeout, s.d.Backend
	s.pr = nil
	return func() tea.Msg {
		b, err := backend(uri)
		if err != nil {
			return preparedMsg{Route: r, err: err}
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		pr, err := b.Prepare(ctx, spec)
		return preparedMsg{Route: r, pr: pr, err: err}
	}
}

// Update handles the check's answer, typing, confirmation, and then the
// progress view.
func (s *Screen) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	if s.progress != nil {
		_, cmd := s.progress.Update(msg)
		return s, cmd
	}
	switch msg := msg.(type) {
	case preparedMsg:
		if !s.req.Current(msg.Route) {
			return s, nil
		}
		s.err = msg.err
		if msg.err == nil {
			s.pr = &msg.pr
		}
		s.updateKeys()
		if s.err == nil && s.pr.Already == "" && !s.confirms() {
			return s, s.start("")
		}
		return s, nil
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, s.keys.Cancel):
			return s, common.Pop(nil)
		case !s.asking():
			if key.Matches(msg, s.d.Keys.Progress.Close) {
				return s, common.Pop(nil)
			}
			return s, nil
		case key.Matches(msg, s.keys.Mode):
			s.spec.Overwrite = !s.spec.Overwrite
			s.updateKeys()
			return s, s.prepare()
		case key.Matches(msg, s.keys.Confirm):
			if s.input.Value() != s.pr.Pool.Name {
				s.mistyped = true
				return s, nil
			}
			return s, s.start(s.input.Value())
		}
	}
	var cmd tea.Cmd
	s.input, cmd = s.input.Update(msg)
	if _, typed := msg.(tea.KeyPressMsg); typed {
		s.mistyped = false
	}
	return s, cmd
}

// title names the action for the progress view and the console's result
// handling ("delete pool x" selects nothing afterwards).
func (s *Screen) title() string {
	return fmt.Sprintf("%s pool %s", s.spec.Verb(), s.at.Pool)
}

func (s *Screen) start(confirm string) tea.Cmd {
	b, err := s.d.Backend(s.at.HostURI)
	if err != nil {
		s.err = err
		return nil
	}
	pr := *s.pr
	run := func(ctx context.Context, ev chan<- drive.Event) (drive.Result, error) {
		res, err := b.Run(ctx, pr, confirm, ev)
		return drive.Result{Host: res.Host, Pool: res.Pool, Notes: res.Notes, Leftovers: res.Leftovers}, err
	}
	s.progress = driveprogress.New(s.title(), pr.Steps, run, s.d.Styles, s.d.Keys.Progress)
	s.progress.SetSize(s.width, s.height)
	s.progress.Focus()
	s.updateKeys()
	return s.progress.Init()
}

// View draws the check, the question or the progress. Names from libvirt
// are escaped (model.SafeText).
func (s *Screen) View() string {
	if s.progress != nil {
		return s.progress.View()
	}
	st := s.d.Styles
	var b strings.Builder
	head := s.title()
	if s.spec.Dangerous() || s.confirms() {
		b.WriteString(st.Bad.Render(keys.DangerMark+" "+model.SafeText(head)) + "\n\n")
	} else {
		b.WriteString(st.Title.Render(model.SafeText(head)) + "\n\n")
	}
	switch {
	case s.err != nil:
		b.WriteString(st.Bad.Render(model.SafeLines(s.err.Error())) + "\n\n")
		b.WriteString(st.Muted.Render("Nothing was changed.") + "\n\n")
		b.WriteString(st.Muted.Render(keys.Hint(s.d.Keys.Progress.Close)))
		return b.String()
	case s.pr == nil:
		b.WriteString(st.Muted.Render("checking the pool and the VMs that may use it…"))
		return b.String()
	case s.pr.Already != "":
		b.WriteString(st.Text.Render(model.SafeText(s.pr.Already)) + "\n\n")
		b.WriteString(st.Muted.Render(keys.Hint(s.d.Keys.Progress.Close)))
		return b.String()
	}
	p := s.pr.Pool
	fmt.Fprintf(&b, "%s\n\n", st.Muted.Render(fmt.Sprintf("%s pool, uuid %s, on %s", p.Type, p.UUID, model.SafeText(s.pr.Host))))
	b.WriteString(st.Text.Render("This will:") + "\n")
	for _, step := range s.pr.Steps {
		b.WriteString(st.Text.Render("  • "+model.SafeText(step.Title)) + "\n")
	}
	for _, w := range s.pr.Warnings {
		b.WriteString("\n" + st.Warn.Render("warning: "+model.SafeLines(w)) + "\n")
	}
	if s.spec.Action == pool.Build {
		over := "off: libvirt refuses devices that carry a signature"
		if s.spec.Overwrite {
			over = "ON: what the devices hold is lost"
		}
		b.WriteString("\n" + st.Text.Render("overwrite: ") + st.Title.Render(over) + st.Muted.Render("  ("+s.keys.Mode.Help().Key+" to change)") + "\n")
	}
	b.WriteString("\n" + st.Text.Render("Type the pool's name to confirm:") + "\n")
	b.WriteString(s.input.View() + "\n")
	if s.mistyped {
		b.WriteString(st.Bad.Render(fmt.Sprintf("type %q exactly to confirm", model.SafeText(p.Name))) + "\n")
	}
	b.WriteString("\n")
	b.WriteString(st.Muted.Render(keys.Hint(s.keys.Confirm, s.keys.Mode, s.keys.Cancel)))
	return b.String()
}

// SetSize records the size.
func (s *Screen) SetSize(w, h int) {
	s.width, s.height = w, h
	if s.progress != nil {
		s.progress.SetSize(w, h)
	}
}

// Focus focuses the input where the name is asked.
func (s *Screen) Focus() { s.updateKeys() }

// Blur blurs the input.
func (s *Screen) Blur() { s.input.Blur() }

// ShortHelp lists the enabled bindings.
func (s *Screen) ShortHelp() []key.Binding {
	if s.progress != nil {
		return s.progress.ShortHelp()
	}
	var out []key.Binding
	for _, k := range []key.Binding{s.keys.Confirm, s.keys.Mode, s.keys.Cancel} {
		if k.Enabled() {
			out = append(out, k)
		}
	}
	return out
}

// FullHelp is ShortHelp in one column.
func (s *Screen) FullHelp() [][]key.Binding { return [][]key.Binding{s.ShortHelp()} }

// Owns routes the check's answer, then the progress view's run, here.
func (s *Screen) Owns(r common.Route) (mine, current bool) {
	if s.progress != nil {
		if mine, cur := s.progress.Owns(r); mine {
			return mine, cur
		}
	}
	return s.req.Owns(r)
}

// Title names the screen.
func (s *Screen) Title() string { return "pool " + s.spec.Verb() }

// Capturing keeps every key here until the action has run.
func (s *Screen) Capturing() bool {
	if s.progress != nil {
		return s.progress.Capturing()
	}
	return true
}

// Confirms marks the screen as the confirmation a Dangerous action must
// open (keys.Confirmer).
func (s *Screen) Confirms() {}

var (
	_ common.Capturing = (*Screen)(nil)
	_ keys.Confirmer   = (*Screen)(nil)
	_ common.Owner     = (*Screen)(nil)
)
