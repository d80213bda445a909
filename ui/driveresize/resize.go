// Package driveresize is the console's resize-drive screen: it reads the
// drive (its size as the guest sees it, its encryption, the VMs that
// hold it), offers a huh form whose size field is checked as it is typed
// (parsed, grow-only for LUKS, a shrink only with the drive's name typed
// in the confirmation field), then runs the resize in the drive progress
// view; closing that view refreshes the browser (driveprogress.DoneMsg).
//
// It imports model, themes, ui/common, ui/keys, ui/driveprogress,
// ui/drivewizard (FormKeys), huh, and drive for its types and the pure
// check (ResizeTarget.Check); never libvirtx or ceph: the host comes in
// through Backend.
package driveresize

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"stowage/drive"
	"stowage/model"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/driveprogress"
	"stowage/ui/drivewizard"
	"stowage/ui/keys"
)

// Backend is what the screen needs of one host; cli adapts the drive
// workflows to it.
type Backend interface {
	InspectResize(ctx context.Context, pool, name string) (drive.ResizeTarget, error)
	PrepareResize(ctx context.Context, s drive.ResizeSpec) (drive.ResizePrepared, error)
	Resize(ctx context.Context, p drive.ResizePrepared, events chan<- drive.Event) (drive.Result, error)
}

// Deps build the screen.
type Deps struct {
	Backend func(hostURI string) (Backend, error)
	Styles  themes.Styles
	Log     *slog.Logger
	// Timeout bounds each read and the check before the run (not the run).
	Timeout time.Duration
	Keys    keys.Map
}

func (d Deps) bindings() keys.Map {
	if len(d.Keys.DriveWizard.Back.Keys()) == 0 {
		return keys.Default()
	}
	return d.Keys
}

func (d Deps) timeout() time.Duration {
	if d.Timeout <= 0 {
		return 15 * time.Second
	}
	return d.Timeout
}

// Resizer is the screen.
type Resizer struct {
	deps    Deps
	at      common.DriveTarget
	backend Backend
	target  *drive.ResizeTarget
	// size and confirm are bound to the form; huh writes and validates
	// them in Update, on the UI goroutine.
	size, confirm string
	form          *huh.Form
	err           error
	req           common.Requests
	progress      *driveprogress.Model
	closed        bool
	width, height int
	back          key.Binding
}

type inspectedMsg struct {
	common.Route
	t   drive.ResizeTarget
	err error
}

type preparedMsg struct {
	common.Route
	p   drive.ResizePrepared
	err error
}

// New opens the screen for at's volume.
func New(d Deps, at common.DriveTarget) common.Component {
	return &Resizer{deps: d, at: at, back: d.bindings().DriveWizard.Back}
}

// Init reads the drive.
func (r *Resizer) Init() tea.Cmd {
	b, err := r.deps.Backend(r.at.HostURI)
	if err != nil {
		r.err = err
		return nil
	}
	r.backend = b
	id, timeout, pool, name := r.req.New(), r.deps.timeout(), r.at.Pool, r.at.Volume
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		t, err := b.InspectResize(ctx, pool, name)
		return inspectedMsg{Route: id, t: t, err: err}
	}
}

// describe is the drive as the form shows it.
func describe(t drive.ResizeTarget) string {
	s := "now " + model.IBytes(t.GuestSize) + " for the guest"
	switch {
	case t.Encryption == "luks":
		s += "; QEMU-layer LUKS: grow only (the payload grows, the header stays)"
	case t.Encrypted():
		s += fmt.Sprintf("; librbd %s: grow only (the image is %s: + the header)", t.Encryption, model.IBytes(t.Volume.Capacity))
	default:
		s += "; plain: a shrink needs the name typed below"
	}
	if len(t.Open) == 1 {
		s += fmt.Sprintf("; open in running VM %s as %s: resized live, no restart", t.Open[0].VM, t.Open[0].Target)
	}
	for _, c := range t.ConfigOnly {
		s += "; " + c + ": sees it at its next start"
	}
	return model.SafeText(s)
}

// check is the size field's and the confirmation's validation, as typed.
func (r *Resizer) check() (uint64, error) {
	size, confirm := r.size, r.confirm
	c, err := model.ParseSizeChange(size)
	if err != nil {
		return 0, err
	}
	to, _ := c.Target(r.target.GuestSize)
	return r.target.Check(c, to < r.target.GuestSize, confirm)
}

func (r *Resizer) buildForm() {
	name := r.target.Volume.Name
	sizeField := huh.NewInput().Title("New size for " + model.SafeText(r.at.Pool+"/"+name)).
		Description(describe(*r.target)).Placeholder("20G, or +5G to grow by 5 GiB").Value(&r.size).
		Validate(func(string) error {
			_, err := r.check()
			if err != nil && strings.Contains(err.Error(), "is not the drive's name") {
				return nil // said on the confirmation field
			}
			return err
		})
	confirmField := huh.NewInput().Title("Shrink only: type the drive's name").
		Description("leave empty to grow").Value(&r.confirm).
		Validate(func(string) error {
			_, err := r.check()
			return err
		})
	fields := []huh.Field{sizeField}
	if !r.target.Encrypted() {
		fields = append(fields, confirmField)
	}
	r.form = huh.NewForm(huh.NewGroup(fields...)).WithTheme(huh.ThemeFunc(huh.ThemeBase)).WithShowHelp(true)
	r.form.WithKeyMap(drivewizard.FormKeys(r.deps.bindings().Form, "back"))
	if r.width > 0 {
		r.form.WithWidth(r.width)
	}
}

func (r *Resizer) prepare() tea.Cmd {
	size, confirm := r.size, r.confirm
	c, err := model.ParseSizeChange(size)
	if err != nil {
		r.err = err
		return nil
	}
	to, _ := c.Target(r.target.GuestSize)
	spec := drive.ResizeSpec{Pool: r.at.Pool, Name: r.at.Volume, Size: c, Shrink: to < r.target.GuestSize, Confirm: confirm,
		Encryption: model.DriveEncryption(r.target.Encryption)}
	id, b, timeout := r.req.New(), r.backend, r.deps.timeout()
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		p, err := b.PrepareResize(ctx, spec)
		return preparedMsg{Route: id, p: p, err: err}
	}
}

// Update routes messages: the reads, the form, then the progress view.
func (r *Resizer) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	if r.closed {
		return r, nil
	}
	if r.progress != nil {
		_, cmd := r.progress.Update(msg)
		return r, cmd
	}
	switch msg := msg.(type) {
	case inspectedMsg:
		if !r.req.Current(msg.Route) {
			return r, nil
		}
		if r.err = msg.err; msg.err != nil {
			return r, nil
		}
		t := msg.t
		r.target = &t
		r.buildForm()
		return r, r.form.Init()
	case preparedMsg:
		if !r.req.Current(msg.Route) {
			return r, nil
		}
		if msg.err != nil {
			// Refused or changed meanwhile: say why, and offer the form
			// again with what was typed.
			r.err = msg.err
			if msg.p.Target.Volume.Name != "" {
				t := msg.p.Target
				r.target = &t
			}
			r.buildForm()
			return r, r.form.Init()
		}
		b, p := r.backend, msg.p
		run := func(ctx context.Context, ev chan<- drive.Event) (drive.Result, error) {
			return b.Resize(ctx, p, ev)
		}
		r.progress = driveprogress.New("resize drive "+r.at.Pool+"/"+r.at.Volume, p.Plan, run, r.deps.Styles, r.deps.bindings().Progress)
		r.progress.SetSize(r.width, r.height)
		r.progress.Focus()
		return r, r.progress.Init()
	}
	if r.form == nil {
		if k, ok := msg.(tea.KeyPressMsg); ok && key.Matches(k, r.back) {
			r.closed = true
			return r, common.Pop(nil)
		}
		return r, nil
	}
	m, cmd := r.form.Update(msg)
	if f, ok := m.(*huh.Form); ok {
		r.form = f
	}
	switch r.form.State {
	case huh.StateAborted:
		r.closed = true
		return r, common.Pop(nil)
	case huh.StateCompleted:
		r.err = nil
		return r, r.prepare()
	}
	return r, cmd
}

// View draws the form or the progress.
func (r *Resizer) View() string {
	s := r.deps.Styles
	if r.progress != nil {
		return r.progress.View()
	}
	out := ""
	if r.err != nil {
		out = s.Bad.Render(model.SafeLines(r.err.Error())) + "\n\n"
	}
	if r.form == nil {
		if r.err != nil {
			return out + s.Muted.Render(keys.Hint(r.back))
		}
		return out + s.Muted.Render("reading the drive…  "+keys.Hint(r.back))
	}
	return out + r.form.View()
}

// SetSize records the size.
func (r *Resizer) SetSize(w, h int) {
	r.width, r.height = w, h
	if r.form != nil && w > 0 {
		r.form.WithWidth(w)
	}
	if r.progress != nil {
		r.progress.SetSize(w, h)
	}
}

// Focus is a no-op.
func (r *Resizer) Focus() {}

// Blur is a no-op.
func (r *Resizer) Blur() {}

// ShortHelp lists the current bindings.
func (r *Resizer) ShortHelp() []key.Binding {
	if r.progress != nil {
		return r.progress.ShortHelp()
	}
	if r.form != nil {
		return r.form.KeyBinds()
	}
	return []key.Binding{r.back}
}

// FullHelp is ShortHelp in one column.
func (r *Resizer) FullHelp() [][]key.Binding { return [][]key.Binding{r.ShortHelp()} }

// Title names the screen.
func (r *Resizer) Title() string { return "resize drive" }

// Owns routes its reads and its progress view's run here (common.Owner).
func (r *Resizer) Owns(rt common.Route) (mine, current bool) {
	if r.progress != nil {
		if mine, current := r.progress.Owns(rt); mine {
			return mine, current
		}
	}
	return r.req.Owns(rt)
}

// Capturing keeps keys here while the form is up and the resize runs.
func (r *Resizer) Capturing() bool {
	if r.progress != nil {
		return r.progress.Capturing()
	}
	return r.form != nil
}

var _ common.Capturing = (*Resizer)(nil)
