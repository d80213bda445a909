// Package driveprogress is the live progress view of a drive workflow:
// one line per step with its state, elapsed time and, where the work is
// measurable, a bar (a spinner where it is not); Ctrl+C cancels and rolls
// back; the view then says what was undone and what is left. A second
// Ctrl+C in the same workflow quits the program at once (common.QuitMsg),
// and what the workflow may have left, with the commands that remove it,
// is printed on the terminal after exit. It also holds
// Backend, the interface through which the drive screens reach a host.
//
// It imports model, drive (for its events and results), themes, ui/common
// and ui/keys (its bindings come from the console's keymap); never
// libvirtx or ceph: the host comes in through Backend.
package driveprogress

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"stowage/drive"
	"stowage/model"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/keys"
)

// Backend is what the drive screens need of one host; main adapts the
// drive workflows and a libvirt connection to it.
type Backend interface {
	Pools(ctx context.Context) ([]model.Pool, error)
	VolumeNames(ctx context.Context, pool string) ([]string, error)
	DomainNames(ctx context.Context) ([]string, error)
	Domain(ctx context.Context, name string, inactive bool) (model.Domain, error)
	Prepare(ctx context.Context, spec model.DriveSpec) (drive.Prepared, error)
	Create(ctx context.Context, p drive.Prepared, events chan<- drive.Event) (drive.Result, error)
	PrepareAttach(ctx context.Context, a drive.AttachSpec) (drive.Prepared, string, error)
	Attach(ctx context.Context, p drive.Prepared, secret string, events chan<- drive.Event) (drive.Result, error)
	Detach(ctx context.Context, vm, target string, mode model.AttachMode, events chan<- drive.Event) (drive.Result, error)
	Delete(ctx context.Context, pool, name string, events chan<- drive.Event) (drive.Result, error)
}

// DoneMsg is the result a drive screen pops with: the browser refreshes
// and selects Result's volume or disk.
type DoneMsg struct {
	Action string
	Result drive.Result
	Err    error
}

// Run is a workflow bound to its inputs; it sends events and returns.
type Run func(ctx context.Context, events chan<- drive.Event) (drive.Result, error)

type stepState int

const (
	pending stepState = iota
	running
	done
	failed
	undone
	undoFailed
)

type line struct {
	step        model.Step
	state       stepState
	started     time.Time
	elapsed     time.Duration
	done, total uint64
	note        string
	// retries are the attempts that failed for a transient reason and
	// were made again, one line each.
	retries []string
	// made is what the step created and the command that removes it, from
	// its StepDone event; cleared once undone or kept as not ours.
	made *drive.Leftover
	// meter turns the step's progress events into MiB/s and a time left
	// (rate.go).
	meter model.Meter
}

// keymap is the keymap's progress bindings as this view offers them: the
// one cancel key reads "quit now" once the rollback runs.
type keymap struct {
	Cancel, Quit, Close key.Binding
}

// Model is the progress view. Create it with New; it starts the workflow
// in Init.
type Model struct {
	action     string
	styles     themes.Styles
	run        Run
	lines      []line
	events     chan drive.Event
	cancel     context.CancelFunc
	spin       spinner.Model
	notes      []string
	finished   bool
	res        drive.Result
	err        error
	width      int
	keys       keymap
	focused    bool
	cancelling bool
	// req names this view's run (common.Route): its events and its end
	// are routed here even while another screen covers the view, so the
	// stream keeps running and the workflow never blocks on its events.
	req common.Requests
}

// eventMsg and finishedMsg carry the run's Route; ch is the stream the
// next listen reads.
type eventMsg struct {
	common.Route
	ch chan drive.Event
	e  drive.Event
	ok bool
}
type finishedMsg struct {
	common.Route
	ch  chan drive.Event
	res drive.Result
	err error
}

// New builds the view for a plan; run starts when the view is shown. k
// are the keymap's progress bindings.
func New(action string, plan []model.Step, run Run, styles themes.Styles, k keys.ProgressKeys) *Model {
	m := &Model{action: action, styles: styles, run: run, spin: spinner.New(spinner.WithSpinner(spinner.Dot))}
	for _, s := range plan {
		m.lines = append(m.lines, line{step: s})
	}
	m.keys = keymap{Cancel: k.Cancel, Quit: keys.WithHelp(k.Cancel, "quit now (prints what may be left)"), Close: k.Close}
	m.updateKeys()
	return m
}

func (m *Model) updateKeys() {
	m.keys.Cancel.SetEnabled(!m.finished && !m.cancelling)
	m.keys.Quit.SetEnabled(!m.finished && m.cancelling)
	m.keys.Close.SetEnabled(m.finished)
}

func listen(r common.Route, ch chan drive.Event) tea.Cmd {
	return func() tea.Msg {
		e, ok := <-ch
		return eventMsg{Route: r, ch: ch, e: e, ok: ok}
	}
}

// Owns routes the run's events and end to this view (common.Owner).
func (m *Model) Owns(r common.Route) (mine, current bool) { return m.req.Owns(r) }

// Init starts the workflow and the listener that re-arms on each event.
func (m *Model) Init() tea.Cmd {
	ch := make(chan drive.Event, 64)
	m.events = ch
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	run, r := m.run, m.req.New()
	start := func() tea.Msg {
		res, err := run(ctx, ch)
		close(ch)
		return finishedMsg{Route: r, ch: ch, res: res, err: err}
	}
	return tea.Batch(start, listen(r, ch), m.spin.Tick)
}

// Update applies events, ticks and keys.
func (m *Model) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	switch msg := msg.(type) {
	case eventMsg:
		if !m.req.Current(msg.Route) || !msg.ok {
			return m, nil
		}
		m.apply(msg.e)
		return m, listen(msg.Route, msg.ch)
	case finishedMsg:
		if !m.req.Current(msg.Route) {
			return m, nil
		}
		m.finished, m.res, m.err = true, msg.res, msg.err
		m.cancel()
		m.updateKeys()
	case spinner.TickMsg:
		if m.finished {
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, m.keys.Quit):
			// The second Ctrl+C: the admin wants out even though the
			// rollback (or the step before it) has not returned, say
			// because libvirtd stopped answering.
			return m, common.Quit(m.LeftReport())
		case key.Matches(msg, m.keys.Cancel):
			m.cancelling = true
			m.notes = append(m.notes, "cancelling: the running step finishes (libvirt and librbd cannot abort it), then everything done is undone")
			m.cancel()
			m.updateKeys()
		case key.Matches(msg, m.keys.Close):
			return m, common.Pop(DoneMsg{Action: m.action, Result: m.res, Err: m.err})
		}
	}
	return m, nil
}

func (m *Model) apply(e drive.Event) {
	if e.Kind == drive.RollbackStarted || e.Kind == drive.Finished || (e.Step.ID == "" && e.Note != "") {
		if e.Note != "" {
			m.notes = append(m.notes, e.Note)
		}
		return
	}
	if e.Index < 0 || e.Index >= len(m.lines) {
		return
	}
	l := &m.lines[e.Index]
	switch e.Kind {
	case drive.StepStarted:
		l.state, l.started = running, time.Now()
	case drive.StepProgress:
		l.done, l.total, l.elapsed = e.Done, e.Total, e.Elapsed
		l.meter.Add(model.Sample{Elapsed: e.Elapsed, Done: e.Done})
	case drive.StepRetrying:
		l.retries = append(l.retries, e.Note)
	case drive.StepDone:
		l.state, l.elapsed, l.made = done, e.Elapsed, e.Made
	case drive.StepFailed:
		l.state, l.elapsed, l.note = failed, e.Elapsed, e.Err.Error()
	case drive.StepUndone:
		l.state, l.note, l.made = undone, e.Note, nil
	case drive.UndoKept:
		l.note, l.made = e.Note, nil
	case drive.UndoFailed:
		l.state, l.note = undoFailed, e.Note
	}
}

// Finished reports whether the workflow has returned.
func (m *Model) Finished() bool { return m.finished }

// Result is the workflow's result and error once Finished.
func (m *Model) Result() (drive.Result, error) { return m.res, m.err }

// View draws one line per step. Step titles, notes and errors carry
// names from libvirt and Ceph: they are escaped here (model.SafeText), so
// a name cannot move the cursor or recolour the screen.
func (m *Model) View() string {
	s := m.styles
	var b strings.Builder
	b.WriteString(s.Title.Render(model.SafeText(m.action)) + "\n\n")
	for _, l := range m.lines {
		var mark string
		switch l.state {
		case pending:
			mark = s.Muted.Render("·")
		case running:
			mark = strings.TrimSpace(m.spin.View())
		case done:
			mark = s.Good.Render("✓")
		case failed, undoFailed:
			mark = s.Bad.Render("✗")
		case undone:
			mark = s.Warn.Render("↺")
		}
		el := l.elapsed
		if l.state == running {
			el = time.Since(l.started)
		}
		row := fmt.Sprintf("%s %-52s", mark, model.SafeText(l.step.Title))
		if l.state != pending {
			row += s.Muted.Render(fmt.Sprintf(" %6.1fs", el.Seconds()))
		}
		if l.state == running && l.step.Measurable && l.total > 0 {
			row += "  " + bar(l.done, l.total, 24) + s.Muted.Render(" "+l.transferText())
		}
		b.WriteString(row + "\n")
		for _, r := range l.retries {
			b.WriteString(m.indented(s.Warn, "↻ "+model.SafeLines(r)))
		}
		if l.note != "" {
			style := s.Muted
			if l.state == failed || l.state == undoFailed {
				style = s.Bad
			}
			b.WriteString(m.indented(style, model.SafeLines(l.note)))
		}
	}
	for _, n := range m.notes {
		for i, l := range strings.Split(m.wrap(model.SafeLines(n), 0), "\n") {
			if i == 0 {
				b.WriteString("\n")
			}
			b.WriteString(s.Warn.Render(l) + "\n")
		}
	}
	if m.finished {
		b.WriteString("\n\n")
		if m.err != nil {
			for i, l := range strings.Split(m.wrap(model.SafeLines(m.err.Error()), len("failed: ")), "\n") {
				if i == 0 {
					b.WriteString(s.Bad.Render("failed: ") + s.Text.Render(l) + "\n")
					continue
				}
				b.WriteString(s.Text.Render(l) + "\n")
			}
		} else {
			b.WriteString(s.Good.Render("done") + "  " + s.Text.Render(model.SafeLines(summary(m.res))) + "\n")
		}
		b.WriteString(s.Muted.Render(keys.Hint(m.keys.Close)))
	} else if !m.cancelling {
		b.WriteString("\n\n" + s.Muted.Render(keys.Hint(m.keys.Cancel)))
	} else {
		b.WriteString("\n\n" + s.Muted.Render(m.keys.Quit.Help().Key+" again: quit now (what may be left is printed)"))
	}
	return b.String()
}

// wrap breaks text to the view's width (the first line is shorter by
// lead cells), so that an error's cause, which libvirt puts at the end of
// a long message, is never cut off at the screen's edge.
func (m *Model) wrap(text string, lead int) string {
	if m.width <= lead+20 {
		return text
	}
	lines := strings.Split(ansi.Wrap(strings.Repeat(" ", lead)+text, m.width, ""), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	lines[0] = strings.TrimLeft(lines[0], " ")
	return strings.Join(lines, "\n")
}

// indented renders a step's note or retry under it, wrapped and indented.
func (m *Model) indented(style lipgloss.Style, text string) string {
	const pad = "    "
	width := m.width - len(pad)
	if width < 20 {
		return pad + style.Render(text) + "\n"
	}
	var b strings.Builder
	for _, l := range strings.Split(ansi.Wrap(text, width, ""), "\n") {
		b.WriteString(pad + style.Render(strings.TrimRight(l, " ")) + "\n")
	}
	return b.String()
}

func summary(r drive.Result) string {
	var parts []string
	if r.Name != "" {
		parts = append(parts, r.Pool+"/"+r.Name)
	}
	if r.SecretUUID != "" {
		parts = append(parts, "secret "+r.SecretUUID)
	}
	if r.VM != "" {
		parts = append(parts, fmt.Sprintf("%s:%s (%s)", r.VM, r.Target, r.Attach))
	}
	out := strings.Join(parts, " · ")
	for _, n := range r.Notes {
		out += "\n  note: " + n
	}
	return out
}

// SetSize records the width.
func (m *Model) SetSize(w, _ int) { m.width = w }

// Focus and Blur track focus (keys arrive only when focused).
func (m *Model) Focus() { m.focused = true }

// Blur drops focus.
func (m *Model) Blur() { m.focused = false }

// ShortHelp lists the enabled bindings.
func (m *Model) ShortHelp() []key.Binding {
	var out []key.Binding
	for _, k := range []key.Binding{m.keys.Cancel, m.keys.Quit, m.keys.Close} {
		if k.Enabled() {
			out = append(out, k)
		}
	}
	return out
}

// FullHelp is ShortHelp in one column.
func (m *Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }

// Title names the screen in breadcrumbs.
func (m *Model) Title() string { return model.SafeText(m.action) }

// bar draws a text progress bar of width cells.
func bar(done, total uint64, width int) string {
	n := width
	if done < total {
		n = int(float64(done) / float64(total) * float64(width))
	}
	return "[" + strings.Repeat("█", n) + strings.Repeat("░", width-n) + "]"
}

// Capturing keeps every key here until the workflow has finished, so that
// ctrl+c cancels and rolls back instead of quitting the console mid-step.
func (m *Model) Capturing() bool { return !m.finished }

var _ common.Capturing = (*Model)(nil)

// LeftReport says, for the terminal after a quit in the middle of the
// workflow, what it may have left: each finished step's object not yet
// undone with the command that removes it, the step that was still
// running, and undos that failed. Plain text: it is printed after the
// program left the alternate screen; names in it are escaped (%q, or
// model.SafeText), as on screen.
func (m *Model) LeftReport() string {
	var b strings.Builder
	phase := "while its rollback was still running"
	if !m.cancelling {
		phase = "before it finished"
	}
	fmt.Fprintf(&b, "stowage quit during %q %s; what may be left:\n", m.action, phase)
	n := 0
	for _, l := range m.lines {
		switch {
		case l.made != nil:
			fmt.Fprintf(&b, "  %s: remove it with: %s\n", model.SafeText(l.made.What), model.SafeText(l.made.Command))
			n++
		case l.state == running:
			fmt.Fprintf(&b, "  %q was still running: it may have made something (check the pool, the VM and `virsh secret-list`)\n", l.step.Title)
			n++
		case l.state == undoFailed:
			fmt.Fprintf(&b, "  %s\n", model.SafeText(l.note))
			n++
		}
	}
	if n == 0 {
		b.WriteString("  nothing this workflow made is known to be left\n")
	}
	return b.String()
}
