// Package drivewizard is the create-drive wizard (huh forms inside the
// console): host pool, name, size, format, encryption, cipher and attach,
// each validated as typed; then a review of the secret, volume and disk
// XML with the equivalent virsh/rbd commands; then the live progress view.
// It also holds the attach flow for an existing volume.
//
// It imports model, themes, ui/common, ui/keys, ui/driveprogress, huh
// for the forms, and drive for its types and errors and two pure texts
// (MakePreview, HotplugChoices), never to run a workflow; never libvirtx
// or ceph: the host comes in through driveprogress.Backend. Its keys,
// the forms' included, are the keymap's (Deps.Keys).
package drivewizard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"stowage/drive"
	"stowage/model"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/driveprogress"
	"stowage/ui/keys"
)

// Deps build the drive screens.
type Deps struct {
	// Backend returns the host named by its URI.
	Backend func(hostURI string) (driveprogress.Backend, error)
	Styles  themes.Styles
	Log     *slog.Logger
	// Timeout bounds each backend read (not the workflow itself).
	Timeout time.Duration
	// Keys is the console's keymap (with config.yaml's remaps): the drive
	// screens use its Form, DriveWizard, Confirm and Progress bindings.
	Keys keys.Map
}

// Bindings is the keymap the screens use: Keys, or the default keymap
// when the caller set none.
func (d Deps) Bindings() keys.Map {
	if len(d.Keys.DriveWizard.Back.Keys()) == 0 {
		return keys.Default()
	}
	return d.Keys
}

// FormKeys is huh's keymap with the keymap's form bindings: huh's own
// descriptions stay, the keys are the keymap's; cancel names what esc
// does on that form.
func FormKeys(k keys.FormKeys, cancel string) *huh.KeyMap {
	km := huh.NewDefaultKeyMap()
	km.Quit = keys.WithHelp(k.Cancel, cancel)
	set := func(b *key.Binding, from key.Binding) {
		b.SetKeys(from.Keys()...)
		b.SetHelp(from.Help().Key, b.Help().Desc)
	}
	for _, b := range []*key.Binding{&km.Input.Next, &km.Input.Submit, &km.Select.Next, &km.Select.Submit} {
		set(b, k.Next)
	}
	set(&km.Input.Prev, k.Prev)
	set(&km.Select.Prev, k.Prev)
	set(&km.Select.Up, k.Up)
	set(&km.Select.Down, k.Down)
	return km
}

func (d Deps) timeout() time.Duration {
	if d.Timeout <= 0 {
		return 15 * time.Second
	}
	return d.Timeout
}

type phase int

const (
	loading phase = iota
	form
	preparing
	choosing
	review
	running
)

// Wizard is the create-drive screen.
type Wizard struct {
	deps    Deps
	at      common.DriveTarget
	backend driveprogress.Backend
	phase   phase
	// req numbers the wizard's reads (common.Route): the root drops a
	// reply to an older one.
	req common.Requests
	err error

	pools []model.Pool
	names map[string][]string
	vms   []string

	// Bound to the form's fields. huh runs DescriptionFunc and OptionsFunc
	// in Cmds, off the UI goroutine: pool, size, format and enc, which those
	// funcs read, are written only under mu (through locked accessors) and
	// read there under mu; the funcs write nothing.
	pool, name, size, format, enc, cipher, vm, mode string
	fallback                                        string
	mu                                              sync.Mutex

	form     *huh.Form
	prepared drive.Prepared
	preview  drive.Preview
	progress *driveprogress.Model
	// closed is set once the wizard asked to be popped: an aborted form
	// stays aborted, and a message reaching it before the pop (a select's
	// options loading) must not pop the screen below too.
	closed bool
	width  int
	height int
	scroll int
	keys   keys.DriveWizardKeys
}

// New opens the wizard preset to at's pool or VM.
func New(d Deps, at common.DriveTarget) common.Component {
	w := &Wizard{deps: d, at: at, pool: at.Pool, vm: at.VM, format: "raw", mode: "live+persistent",
		cipher: model.RecommendedCipher, names: map[string][]string{}}
	w.keys = d.Bindings().DriveWizard
	return w
}

type loadedMsg struct {
	common.Route
	pools []model.Pool
	names map[string][]string
	vms   []string
	err   error
}

type preparedMsg struct {
	common.Route
	p   drive.Prepared
	pv  drive.Preview
	err error
}

// Init loads the host's pools, their volume names and its VMs.
func (w *Wizard) Init() tea.Cmd {
	b, err := w.deps.Backend(w.at.HostURI)
	if err != nil {
		w.err = err
		return nil
	}
	w.backend = b
	id, timeout := w.req.New(), w.deps.timeout()
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		msg := loadedMsg{Route: id}
		if msg.pools, msg.names, msg.err = LoadPools(ctx, b); msg.err != nil {
			return msg
		}
		msg.vms, msg.err = b.DomainNames(ctx)
		return msg
	}
}

// PoolLister is what LoadPools reads.
type PoolLister interface {
	Pools(ctx context.Context) ([]model.Pool, error)
	VolumeNames(ctx context.Context, pool string) ([]string, error)
}

// LoadPools reads a host's pools and the volume names of those that can
// take a new drive (active, able to create volumes), for the forms that
// check a new name as it is typed. A pool too large for libvirt to list
// gives its first names: the live check is partial there, and the
// workflow's prepare asks libvirt for the exact name before anything is
// made.
func LoadPools(ctx context.Context, b PoolLister) ([]model.Pool, map[string][]string, error) {
	pools, err := b.Pools(ctx)
	if err != nil {
		return nil, nil, err
	}
	names := map[string][]string{}
	for _, p := range pools {
		if ok, _ := model.CreateAbility(p.Type, true); ok && p.Active {
			if names[p.Name], err = b.VolumeNames(ctx, p.Name); err != nil && !model.IsListLimit(err) {
				return pools, names, err
			}
		}
	}
	return pools, names, nil
}

func (w *Wizard) poolByName(n string) (model.Pool, bool) {
	for _, p := range w.pools {
		if p.Name == n {
			return p, true
		}
	}
	return model.Pool{}, false
}

// selectedPool is the pool chosen in the form (safe off the UI goroutine).
func (w *Wizard) selectedPool() model.Pool {
	w.mu.Lock()
	pool := w.pool
	w.mu.Unlock()
	p, _ := w.poolByName(pool)
	return p
}

func (w *Wizard) poolType() model.PoolType { return w.selectedPool().Type }

// locked binds a form field to a wizard field guarded by mu.
type locked[T any] struct {
	mu *sync.Mutex
	p  *T
}

func (l locked[T]) Get() T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return *l.p
}

func (l locked[T]) Set(v T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*l.p = v
}

// field is the guarded accessor of one of the wizard's fields.
func (w *Wizard) field(p *string) locked[string] { return locked[string]{mu: &w.mu, p: p} }

func (w *Wizard) buildForm() {
	// Labels show names escaped (model.SafeText); option values stay the
	// names libvirt gave, for the workflow.
	var poolOpts []huh.Option[string]
	for _, p := range w.pools {
		name := model.SafeText(p.Name)
		label := fmt.Sprintf("%s  (%s, %s free)", name, p.Type, model.IBytes(p.Available))
		if ok, why := model.CreateAbility(p.Type, true); !ok {
			label = fmt.Sprintf("%s  (%s) — unavailable: %s", name, p.Type, why)
			label = w.deps.Styles.Muted.Render(label)
		} else if !p.Active {
			label = w.deps.Styles.Muted.Render(fmt.Sprintf("%s  (%s) — inactive", name, p.Type))
		}
		poolOpts = append(poolOpts, huh.NewOption(label, p.Name))
	}
	w.mu.Lock()
	if w.pool == "" {
		for _, p := range w.pools {
			if ok, _ := model.CreateAbility(p.Type, true); ok && p.Active {
				w.pool = p.Name
				break
			}
		}
	}
	w.mu.Unlock()
	vmOpts := []huh.Option[string]{huh.NewOption("none (do not attach)", "")}
	for _, v := range w.vms {
		vmOpts = append(vmOpts, huh.NewOption(model.SafeText(v), v))
	}
	w.form = huh.NewForm(
		huh.NewGroup(
			huh.NewSelect[string]().Title("Pool").Options(poolOpts...).Accessor(w.field(&w.pool)).Validate(w.validatePool),
			huh.NewInput().Title("Name").Value(&w.name).Validate(w.validateName).
				DescriptionFunc(func() string {
					if w.poolType() == model.PoolRBD {
						return "RBD image name: no '/', '@' or leading '.'"
					}
					return "volume name: no '/', not . or .., no control characters, ≤255 bytes"
				}, &w.pool),
			huh.NewInput().Title("Size").Placeholder("10G").Accessor(w.field(&w.size)).Validate(w.validateSize).
				DescriptionFunc(w.sizeNote, []any{&w.size, &w.pool}),
		).Title("Create a drive on "+model.SafeText(w.at.HostURI)),
		huh.NewGroup(
			// On new options huh keeps the value when offered, else takes
			// the option under the cursor (raw, or the first encryption).
			huh.NewSelect[string]().Title("Format").OptionsFunc(func() []huh.Option[string] {
				if model.FilePool(w.poolType()) {
					return huh.NewOptions("raw", "qcow2")
				}
				return huh.NewOptions("raw")
			}, &w.pool).Accessor(w.field(&w.format)),
			huh.NewSelect[string]().Title("Encryption").OptionsFunc(w.encOptions, &w.pool).Accessor(w.field(&w.enc)),
		),
		huh.NewGroup(
			huh.NewSelect[string]().Title("LUKS cipher").Options(
				huh.NewOption(model.RecommendedCipher+" with sha256 (recommended)", model.RecommendedCipher),
				huh.NewOption("libvirt's default: "+model.LibvirtDefaultCipher, ""),
			).Value(&w.cipher),
		).WithHideFunc(func() bool { return w.poolType() == model.PoolRBD || w.enc == "none" }),
		huh.NewGroup(
			huh.NewSelect[string]().Title("Attach to a VM").Options(vmOpts...).Value(&w.vm),
		),
		huh.NewGroup(
			huh.NewSelect[string]().Title("Attach how").Options(
				huh.NewOption("live and persistent", "live+persistent"),
				huh.NewOption("live only (gone at the next VM stop)", "live"),
				huh.NewOption("persistent only (appears at the next VM start)", "persistent"),
			).Value(&w.mode).Description("target device: next free vdX, bus virtio"),
		).WithHideFunc(func() bool { return w.vm == "" }),
	).WithTheme(huh.ThemeFunc(huh.ThemeBase)).WithShowHelp(true)
	w.form.WithKeyMap(FormKeys(w.deps.Bindings().Form, "cancel"))
	if w.width > 0 {
		w.form.WithWidth(w.width)
	}
}

func (w *Wizard) encOptions() []huh.Option[string] {
	t := w.poolType()
	opts := []huh.Option[string]{}
	switch {
	case t == model.PoolRBD:
		opts = append(opts, huh.NewOption("LUKS2 by librbd (fast: decrypted inside librbd)", "luks2"),
			huh.NewOption("LUKS1 by librbd", "luks1"))
	case len(model.EncryptionKinds(t)) > 0:
		opts = append(opts, huh.NewOption("LUKS in QEMU's block layer", "luks"))
	}
	return append(opts, huh.NewOption("none", "none"))
}

func (w *Wizard) validatePool(n string) error {
	p, ok := w.poolByName(n)
	if !ok {
		return fmt.Errorf("choose a pool")
	}
	if can, why := model.CreateAbility(p.Type, true); !can {
		return errors.New(why)
	}
	if !p.Active {
		return fmt.Errorf("pool %s is inactive: start it first", model.SafeText(p.Name))
	}
	return nil
}

func (w *Wizard) validateName(s string) error {
	return model.ValidateDriveName(s, w.poolType(), w.names[w.pool])
}

func (w *Wizard) allocated() (uint64, error) {
	w.mu.Lock()
	size, enc := w.size, w.enc
	w.mu.Unlock()
	n, err := model.ParseSize(size)
	if err != nil {
		return 0, err
	}
	spec := model.DriveSpec{PoolType: w.poolType(), Size: n, Encryption: model.DriveEncryption(enc)}
	return spec.AllocatedSize()
}

func (w *Wizard) validateSize(string) error {
	n, err := w.allocated()
	if err != nil {
		return err
	}
	_, err = model.CheckCapacity(n, w.selectedPool())
	return err
}

func (w *Wizard) sizeNote() string {
	n, err := w.allocated()
	if err != nil {
		return "10G and 10GiB are powers of 1024, 10GB of 1000; also 500M, 1.5T, bytes"
	}
	p := w.selectedPool()
	if warn, _ := model.CheckCapacity(n, p); warn != "" {
		return "warning: " + warn
	}
	return fmt.Sprintf("%s; %s free in %s", model.IBytes(n), model.IBytes(p.Available), model.SafeText(p.Name))
}

func (w *Wizard) spec() model.DriveSpec {
	n, _ := model.ParseSize(w.size)
	s := model.DriveSpec{Host: w.at.HostURI, Pool: w.pool, Name: w.name, Size: n, Format: w.format,
		Encryption: model.DriveEncryption(w.enc), AttachVM: w.vm, Fallback: model.HotplugFallback(w.fallback)}
	if s.Encrypted() && w.poolType() != model.PoolRBD {
		s.Cipher = w.cipher
	}
	s.Attach = model.AttachMode{Live: strings.Contains(w.mode, "live"), Persistent: strings.Contains(w.mode, "persistent")}
	return s
}

func (w *Wizard) prepare() tea.Cmd {
	w.phase = preparing
	id, b, spec, timeout := w.req.New(), w.backend, w.spec(), w.deps.timeout()
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		p, err := b.Prepare(ctx, spec)
		if err != nil {
			return preparedMsg{Route: id, err: err}
		}
		pv, err := drive.MakePreview(p)
		return preparedMsg{Route: id, p: p, pv: pv, err: err}
	}
}

// Capturing keeps every key here while a form takes typing (so 'q' or ':'
// in a name field is text, not a console command) and while the workflow
// runs (so ctrl+c rolls back instead of quitting the console).
func (w *Wizard) Capturing() bool {
	if w.progress != nil {
		return w.progress.Capturing()
	}
	return w.phase == form || w.phase == choosing
}

var _ common.Capturing = (*Wizard)(nil)
