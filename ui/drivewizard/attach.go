package drivewizard

import (
	"context"
	"errors"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"stowage/drive"
	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/driveprogress"
	"stowage/ui/keys"
)

// Attacher attaches an existing volume to a VM: choose the VM and how,
// then (for librbd disks this libvirt cannot hot-plug) how to fall back,
// then the progress view.
type Attacher struct {
	deps               Deps
	at                 common.DriveTarget
	backend            driveprogress.Backend
	vms                []string
	vm, mode, fallback string
	form               *huh.Form
	err                error
	// req numbers the reads (common.Route).
	req      common.Requests
	progress *driveprogress.Model
	// closed: popped once (see Wizard.closed).
	closed        bool
	width, height int
	back          key.Binding
}

type attachLoaded struct {
	common.Route
	vms []string
	err error
}

type attachPrepared struct {
	common.Route
	p      drive.Prepared
	secret string
	err    error
}

// NewAttach opens the attach flow for at's volume.
func NewAttach(d Deps, at common.DriveTarget) common.Component {
	return &Attacher{deps: d, at: at, vm: at.VM, mode: "live+persistent", back: d.Bindings().DriveWizard.Back}
}

// Init lists the host's VMs.
func (a *Attacher) Init() tea.Cmd {
	b, err := a.deps.Backend(a.at.HostURI)
	if err != nil {
		a.err = err
		return nil
	}
	a.backend = b
	id, timeout := a.req.New(), a.deps.timeout()
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		vms, err := b.DomainNames(ctx)
		return attachLoaded{Route: id, vms: vms, err: err}
	}
}

func (a *Attacher) buildForm(withChoice bool) {
	var opts []huh.Option[string]
	for _, v := range a.vms {
		opts = append(opts, huh.NewOption(model.SafeText(v), v))
	}
	fields := []huh.Field{
		huh.NewSelect[string]().Title("Attach " + model.SafeText(a.at.Pool+"/"+a.at.Volume) + " to").Options(opts...).Value(&a.vm),
		huh.NewSelect[string]().Title("How").Options(
			huh.NewOption("live and persistent", "live+persistent"),
			huh.NewOption("live only", "live"),
			huh.NewOption("persistent only", "persistent")).Value(&a.mode),
	}
	if withChoice {
		a.fallback = string(model.FallbackNextStart)
		fields = append(fields, huh.NewSelect[string]().Title("This libvirt cannot hot-plug a disk decrypted by librbd").
			Description(model.QEMULayerCost).Options(
			huh.NewOption("persistent now, live at the VM's next start (librbd)", string(model.FallbackNextStart)),
			huh.NewOption("live now with QEMU-layer decryption (LUKS1 only, slower)", string(model.FallbackQEMU))).Value(&a.fallback))
	}
	a.form = huh.NewForm(huh.NewGroup(fields...)).WithTheme(huh.ThemeFunc(huh.ThemeBase)).WithShowHelp(true)
	a.form.WithKeyMap(FormKeys(a.deps.Bindings().Form, "back"))
	if a.width > 0 {
		a.form.WithWidth(a.width)
	}
}

func (a *Attacher) prepare() tea.Cmd {
	id, b, timeout := a.req.New(), a.backend, a.deps.timeout()
	spec := drive.AttachSpec{Pool: a.at.Pool, Volume: a.at.Volume, VM: a.vm, Fallback: model.HotplugFallback(a.fallback),
		Mode: model.AttachMode{Live: a.mode != "persistent", Persistent: a.mode != "live"}}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		p, secret, err := b.PrepareAttach(ctx, spec)
		return attachPrepared{Route: id, p: p, secret: secret, err: err}
	}
}

// Update routes messages.
func (a *Attacher) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	if a.closed {
		return a, nil
	}
	if a.progress != nil {
		_, cmd := a.progress.Update(msg)
		return a, cmd
	}
	switch msg := msg.(type) {
	case attachLoaded:
		if !a.req.Current(msg.Route) {
			return a, nil
		}
		if a.err = msg.err; msg.err == nil {
			a.vms = msg.vms
			a.buildForm(false)
			return a, a.form.Init()
		}
		return a, nil
	case attachPrepared:
		if !a.req.Current(msg.Route) {
			return a, nil
		}
		if msg.err != nil {
			a.err = msg.err
			a.buildForm(errors.Is(msg.err, drive.ErrNeedsChoice))
			return a, a.form.Init()
		}
		b, p, secret := a.backend, msg.p, msg.secret
		run := func(ctx context.Context, ev chan<- drive.Event) (drive.Result, error) {
			return b.Attach(ctx, p, secret, ev)
		}
		a.progress = driveprogress.New("attach "+a.at.Volume+" to "+a.vm, p.Plan, run, a.deps.Styles, a.deps.Bindings().Progress)
		a.progress.SetSize(a.width, a.height)
		return a, a.progress.Init()
	}
	if a.form == nil {
		if k, ok := msg.(tea.KeyPressMsg); ok && key.Matches(k, a.back) {
			return a, common.Pop(nil)
		}
		return a, nil
	}
	m, cmd := a.form.Update(msg)
	if f, ok := m.(*huh.Form); ok {
		a.form = f
	}
	switch a.form.State {
	case huh.StateAborted:
		a.closed = true
		return a, common.Pop(nil)
	case huh.StateCompleted:
		return a, a.prepare()
	}
	return a, cmd
}

// View draws the form or the progress.
func (a *Attacher) View() string {
	s := a.deps.Styles
	if a.progress != nil {
		return a.progress.View()
	}
	out := ""
	if a.err != nil {
		out = s.Bad.Render(model.SafeLines(a.err.Error())) + "\n\n"
	}
	if a.form == nil {
		return out + s.Muted.Render("reading VMs…  "+keys.Hint(a.back))
	}
	return out + a.form.View()
}

// SetSize records the size.
func (a *Attacher) SetSize(w, h int) {
	a.width, a.height = w, h
	if a.form != nil && w > 0 {
		a.form.WithWidth(w)
	}
	if a.progress != nil {
		a.progress.SetSize(w, h)
	}
}

// Focus is a no-op.
func (a *Attacher) Focus() {}

// Blur is a no-op.
func (a *Attacher) Blur() {}

// ShortHelp lists the current bindings.
func (a *Attacher) ShortHelp() []key.Binding {
	if a.progress != nil {
		return a.progress.ShortHelp()
	}
	if a.form != nil {
		return a.form.KeyBinds()
	}
	return []key.Binding{a.back}
}

// FullHelp is ShortHelp in one column.
func (a *Attacher) FullHelp() [][]key.Binding { return [][]key.Binding{a.ShortHelp()} }

// Title names the screen.
func (a *Attacher) Title() string { return "attach drive" }

// Owns routes its reads and its progress view's run here (common.Owner).
func (a *Attacher) Owns(r common.Route) (mine, current bool) {
	if a.progress != nil {
		if mine, current := a.progress.Owns(r); mine {
			return mine, current
		}
	}
	return a.req.Owns(r)
}

// Capturing: see Wizard.Capturing.
func (a *Attacher) Capturing() bool {
	if a.progress != nil {
		return a.progress.Capturing()
	}
	return a.form != nil
}

var _ common.Capturing = (*Attacher)(nil)
