// Package driveclone is the console's clone-a-drive screen: a form (the
// new name, validated as you type against the target pool's names; the
// target pool among this host's pools that can take the copy; for plain
// RBD images the method), a review of the plan, then the progress view.
// main leaves it unwired under --readonly.
//
// It imports model, drive (types only), ui/common, ui/keys,
// ui/driveprogress and ui/drivewizard (for Deps and the form keys); never
// libvirtx or ceph.
package driveclone

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"stowage/drive"
	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/driveprogress"
	"stowage/ui/drivewizard"
	"stowage/ui/keys"
)

// Backend is what the screen needs of one host.
type Backend interface {
	Pools(ctx context.Context) ([]model.Pool, error)
	VolumeNames(ctx context.Context, pool string) ([]string, error)
	PrepareClone(ctx context.Context, s model.CloneSpec) (drive.PreparedClone, error)
	Clone(ctx context.Context, p drive.PreparedClone, events chan<- drive.Event) (drive.Result, error)
}

// Deps are the drive screens' (styles, keys, timeout) and this host's
// clone backend.
type Deps struct {
	drivewizard.Deps
	Clones func(hostURI string) (Backend, error)
}

type phase int

const (
	loading phase = iota
	form
	preparing
	review
	running
)

// Screen is the clone screen.
type Screen struct {
	deps    Deps
	at      common.DriveTarget
	backend Backend
	phase   phase
	req     common.Requests
	err     error

	pools []model.Pool
	names map[string][]string

	// Bound to the form's fields; the form has no OptionsFunc or
	// DescriptionFunc, so huh reads and writes them only in Update.
	toPool, to, method string

	form     *huh.Form
	prepared drive.PreparedClone
	progress *driveprogress.Model
	closed   bool
	width    int
	height   int
	keys     keys.DriveWizardKeys
}

// New opens the screen for the volume at.Pool/at.Volume.
func New(d Deps, at common.DriveTarget) common.Component {
	return &Screen{deps: d, at: at, toPool: at.Pool, method: string(model.RBDMethodCopy),
		names: map[string][]string{}, keys: d.Bindings().DriveWizard}
}

type loadedMsg struct {
	common.Route
	pools []model.Pool
	names map[string][]string
	err   error
}

type preparedMsg struct {
	common.Route
	p   drive.PreparedClone
	err error
}

// timeout bounds each read (not the clone itself).
func (c *Screen) timeout() time.Duration {
	if c.deps.Timeout <= 0 {
		return 15 * time.Second
	}
	return c.deps.Timeout
}

// Init reads the host's pools and the names in those that can take a
// clone.
func (c *Screen) Init() tea.Cmd {
	b, err := c.deps.Clones(c.at.HostURI)
	if err != nil {
		c.err = err
		return nil
	}
	c.backend = b
	id, timeout := c.req.New(), c.timeout()
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		msg := loadedMsg{Route: id}
		msg.pools, msg.names, msg.err = drivewizard.LoadPools(ctx, b)
		return msg
	}
}

func (c *Screen) pool(name string) (model.Pool, bool) {
	for _, p := range c.pools {
		if p.Name == name {
			return p, true
		}
	}
	return model.Pool{}, false
}

// targets are the pools a clone of the source can go to: active, able to
// create volumes, and of the same kind (RBD stays in RBD, files and
// block devices among themselves).
func (c *Screen) targets() []model.Pool {
	src, _ := c.pool(c.at.Pool)
	var out []model.Pool
	for _, p := range c.pools {
		ok, _ := model.CreateAbility(p.Type, true)
		if ok && p.Active && (p.Type == model.PoolRBD) == (src.Type == model.PoolRBD) {
			out = append(out, p)
		}
	}
	return out
}

func (c *Screen) sourceRBD() bool {
	p, _ := c.pool(c.at.Pool)
	return p.Type == model.PoolRBD
}

// validateName checks the new name against the chosen target pool as it
// is typed.
func (c *Screen) validateName(s string) error {
	p, ok := c.pool(c.toPool)
	if !ok {
		return fmt.Errorf("pick a target pool")
	}
	if err := model.ValidateDriveName(s, p.Type, c.names[p.Name]); err != nil {
		return fmt.Errorf("%w: clone to a new name (stowage never overwrites a drive)", err)
	}
	return nil
}

func (c *Screen) buildForm() {
	var opts []huh.Option[string]
	for _, p := range c.targets() {
		label := fmt.Sprintf("%s (%s)", model.SafeText(p.Name), p.Type)
		if p.Name == c.at.Pool {
			label += " — the source's pool"
		}
		opts = append(opts, huh.NewOption(label, p.Name))
	}
	c.form = huh.NewForm(
		huh.NewGroup(
			huh.NewSelect[string]().Title("Target pool").Options(opts...).Value(&c.toPool),
			huh.NewInput().Title("New drive's name").Value(&c.to).Validate(c.validateName),
		),
		huh.NewGroup(
			huh.NewSelect[string]().Title("RBD method").Options(
				huh.NewOption("deep copy: independent of the source", string(model.RBDMethodCopy)),
				huh.NewOption("snapshot + clone: instant and thin; the source cannot be deleted while the clone exists", string(model.RBDMethodClone)),
			).Value(&c.method),
		).WithHideFunc(func() bool { return !c.sourceRBD() }),
	).WithTheme(huh.ThemeFunc(huh.ThemeBase)).WithShowHelp(true)
	c.form.WithKeyMap(drivewizard.FormKeys(c.deps.Bindings().Form, "cancel"))
	if c.width > 0 {
		c.form.WithWidth(c.width)
	}
}

func (c *Screen) spec() model.CloneSpec {
	s := model.CloneSpec{Pool: c.at.Pool, Name: c.at.Volume, ToPool: c.toPool, To: c.to}
	if c.sourceRBD() {
		s.RBDMethod = model.RBDCloneMethod(c.method)
	}
	return s
}

func (c *Screen) prepare() tea.Cmd {
	c.phase = preparing
	b, s := c.backend, c.spec()
	id, timeout := c.req.New(), c.timeout()
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		p, err := b.PrepareClone(ctx, s)
		return preparedMsg{Route: id, p: p, err: err}
	}
}

// Update routes messages by phase.
func (c *Screen) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	if c.closed {
		return c, nil
	}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		c.SetSize(msg.Width, msg.Height)
	case loadedMsg:
		if !c.req.Current(msg.Route) {
			return c, nil
		}
		if msg.err != nil {
			c.err = msg.err
			return c, nil
		}
		c.pools, c.names, c.phase = msg.pools, msg.names, form
		c.buildForm()
		return c, c.form.Init()
	case preparedMsg:
		if !c.req.Current(msg.Route) {
			return c, nil
		}
		if msg.err != nil {
			c.err, c.phase = msg.err, form
			c.buildForm()
			return c, c.form.Init()
		}
		c.err, c.prepared, c.phase = nil, msg.p, review
		return c, nil
	}
	switch c.phase {
	case loading, preparing:
		if k, ok := msg.(tea.KeyPressMsg); ok && key.Matches(k, c.keys.Back) {
			c.closed = true
			return c, common.Pop(nil)
		}
	case form:
		m, cmd := c.form.Update(msg)
		if f, ok := m.(*huh.Form); ok {
			c.form = f
		}
		switch c.form.State {
		case huh.StateAborted:
			c.closed = true
			return c, common.Pop(nil)
		case huh.StateCompleted:
			return c, c.prepare()
		}
		return c, cmd
	case review:
		if k, ok := msg.(tea.KeyPressMsg); ok {
			switch {
			case key.Matches(k, c.keys.Create):
				return c, c.start()
			case key.Matches(k, c.keys.Back):
				c.phase = form
				c.buildForm()
				return c, c.form.Init()
			}
		}
	case running:
		_, cmd := c.progress.Update(msg)
		return c, cmd
	}
	return c, nil
}

func (c *Screen) start() tea.Cmd {
	b, p := c.backend, c.prepared
	run := func(ctx context.Context, events chan<- drive.Event) (drive.Result, error) {
		return b.Clone(ctx, p, events)
	}
	c.progress = driveprogress.New("clone drive "+p.Object(), p.Plan, run, c.deps.Styles, c.deps.Bindings().Progress)
	c.progress.SetSize(c.width, c.height)
	c.progress.Focus()
	c.phase = running
	return c.progress.Init()
}

// View draws the current phase; names from libvirt are escaped.
func (c *Screen) View() string {
	s := c.deps.Styles
	safe := model.SafeText
	switch c.phase {
	case loading:
		if c.err != nil {
			return s.Bad.Render("cannot open the clone screen: ") + s.Text.Render(model.SafeLines(c.err.Error())) + "\n\n" + s.Muted.Render(keys.Hint(c.keys.Back))
		}
		return s.Muted.Render("reading the pools of " + safe(c.at.HostURI) + "…")
	case preparing:
		return s.Muted.Render("checking the clone against the host…")
	case form:
		head := s.Title.Render("Clone "+safe(c.at.Pool+"/"+c.at.Volume)) + "\n" +
			s.Muted.Render("An encrypted drive's clone gets its own secret and passphrase.") + "\n\n"
		if c.err != nil {
			head = s.Bad.Render(model.SafeLines(c.err.Error())) + "\n\n" + head
		}
		return head + c.form.View()
	case review:
		return c.reviewView()
	case running:
		return c.progress.View()
	}
	return ""
}

func (c *Screen) reviewView() string {
	s := c.deps.Styles
	p := c.prepared
	var b strings.Builder
	b.WriteString(s.Title.Render("Review: clone "+model.SafeText(p.Object())) + "\n\n")
	fmt.Fprintf(&b, "%s  %s, %s\n", s.Text.Render("source"), model.IBytes(p.Source.Capacity), cloneHow(p))
	for _, w := range p.Warnings {
		b.WriteString(s.Warn.Render("warning: "+model.SafeLines(w)) + "\n")
	}
	b.WriteString("\n" + s.Header.Render(" steps ") + "\n")
	for i, st := range p.Plan {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, model.SafeText(st.Title))
	}
	b.WriteString("\n" + s.Title.Render(keys.Hint(keys.WithHelp(c.keys.Create, "clone"))) +
		s.Muted.Render(" · "+keys.Hint(keys.WithHelp(c.keys.Back, "back to the form"))))
	return b.String()
}

func cloneHow(p drive.PreparedClone) string {
	switch p.Kind {
	case model.CloneQEMULUKS:
		return "QEMU-layer LUKS: the clone gets a new secret " +
			"(not " + p.SourceSecret + ") and is re-encrypted by qemu-img; the passphrase is never shown"
	case model.CloneLibrbdLUKS:
		return p.LUKSFormat + " by librbd: the clone gets a new secret (not " + p.SourceSecret +
			") and a new image formatted with it; a paused helper domain copies the decrypted data; the passphrase is never shown"
	case model.CloneRBDCopy:
		return "plain RBD image: deep copy"
	case model.CloneRBDSnapshot:
		return "plain RBD image: protected snapshot + copy-on-write clone"
	}
	return "plain volume: copied by libvirt"
}

// SetSize passes the size on.
func (c *Screen) SetSize(w, h int) {
	c.width, c.height = w, h
	if c.form != nil && w > 0 {
		c.form.WithWidth(w)
	}
	if c.progress != nil {
		c.progress.SetSize(w, h)
	}
}

// Focus is a no-op: the screen is full.
func (c *Screen) Focus() {}

// Blur is a no-op.
func (c *Screen) Blur() {}

// ShortHelp lists the bindings of the current phase.
func (c *Screen) ShortHelp() []key.Binding {
	switch c.phase {
	case form:
		return c.form.KeyBinds()
	case review:
		return []key.Binding{keys.WithHelp(c.keys.Create, "clone"), c.keys.Back}
	case running:
		return c.progress.ShortHelp()
	}
	return []key.Binding{c.keys.Back}
}

// FullHelp is ShortHelp in one column.
func (c *Screen) FullHelp() [][]key.Binding { return [][]key.Binding{c.ShortHelp()} }

// Title names the screen.
func (c *Screen) Title() string { return "clone drive" }

// Owns routes its reads and its progress view's run here (common.Owner).
func (c *Screen) Owns(r common.Route) (mine, current bool) {
	if c.progress != nil {
		if mine, current := c.progress.Owns(r); mine {
			return mine, current
		}
	}
	return c.req.Owns(r)
}

// Capturing keeps every key here while a name is typed (q is text) and
// while the clone runs (ctrl+c rolls back instead of quitting).
func (c *Screen) Capturing() bool {
	if c.progress != nil {
		return c.progress.Capturing()
	}
	return c.phase == form
}

var _ common.Capturing = (*Screen)(nil)
