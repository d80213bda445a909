// Package pooldefine is the define-a-pool screen (key DefinePool): a huh
// form that asks first for the pool type (and, where discovery needs it,
// the NFS server or the iSCSI portal), then that type's fields, each
// validated as typed by model's rules; what the host can offer (NFS
// exports, volume groups, iSCSI targets, block devices) is discovered by a
// tea.Cmd bounded by the timeout and offered as selects, and a failed
// discovery shows its cause and lets the admin type instead. A review
// shows the pool XML and the virsh equivalent; the run is the drive
// progress view over the plan (define, build, start, autostart).
//
// Secrets never pass through the screen: an rbd pool names an existing
// ceph secret or a keyring file, a CHAP secret comes from a file; the run
// reads the file into bytes that are cleared once libvirt has them.
//
// It imports model, plan, drive (its progress types), iscsi (the CHAP
// secret file rules), themes and ui packages; never libvirtx: the host
// comes in through Backend.
package pooldefine

import (
	"context"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"stowage/model"
	"stowage/plan"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/driveprogress"
	"stowage/ui/keys"
)

// Backend is what the screen needs of one host (a libvirt connection,
// adapted in cli).
type Backend interface {
	Pools(ctx context.Context) ([]model.Pool, error)
	PreflightDefine(ctx context.Context, s model.PoolSpec) error
	PoolXML(s model.PoolSpec) (string, error)
	DefinePool(ctx context.Context, r plan.Runner, s model.PoolSpec, secret []byte) ([]plan.Leftover, error)
	FindNFSExports(ctx context.Context, host string) ([]model.NFSExport, error)
	VolumeGroups(ctx context.Context) ([]model.VolumeGroup, error)
	FindISCSITargets(ctx context.Context, host string, port int, initiator string) ([]model.ISCSITarget, error)
	BlockDevices(ctx context.Context) ([]model.BlockDevice, error)
}

// Deps build the screen.
type Deps struct {
	HostURI string
	// Connect returns the host (dialing if needed); it runs in a Cmd.
	Connect func(ctx context.Context) (Backend, error)
	// ReadSecret reads a secret file (CHAP, or a keyring's cephx key for
	// user) into bytes the run clears; it runs in the run's Cmd.
	ReadSecret func(path, cephUser string) ([]byte, error)
	Styles     themes.Styles
	Keys       keys.Map
	Audit      *plan.Audit
	// Timeout bounds each read and discovery (default 30s).
	Timeout time.Duration
}

func (d Deps) timeout() time.Duration {
	if d.Timeout <= 0 {
		return 30 * time.Second
	}
	return d.Timeout
}

func (d Deps) bindings() keys.Map {
	if len(d.Keys.DriveWizard.Back.Keys()) == 0 {
		return keys.Default()
	}
	return d.Keys
}

type phase int

const (
	loading phase = iota
	typeForm
	discovering
	fieldsForm
	preparing
	review
	running
)

// Model is the screen.
type Model struct {
	d       Deps
	backend Backend
	phase   phase
	req     common.Requests
	err     error
	// discoverErr is why discovery found nothing to offer (the form then
	// asks to type).
	discoverErr error
	existing    []string

	f    fields
	form *huh.Form

	found    discovered
	xml      string
	progress *driveprogress.Model
	closed   bool
	width    int
	height   int
	scroll   int
}

// discovered is what discovery offered for the chosen type.
type discovered struct {
	exports []model.NFSExport
	vgs     []model.VolumeGroup
	targets []model.ISCSITarget
	devices []model.BlockDevice
}

// New opens the screen on the host at.HostURI.
func New(d Deps, at common.DriveTarget) *Model {
	m := &Model{d: d}
	m.d.HostURI = at.HostURI
	m.f = newFields()
	return m
}

type connectedMsg struct {
	common.Route
	b     Backend
	names []string
	err   error
}

type discoveredMsg struct {
	common.Route
	found discovered
	err   error
}

type preparedMsg struct {
	common.Route
	xml string
	err error
}

// Init connects and reads the host's pool names (a taken name is
// refused as typed).
func (m *Model) Init() tea.Cmd {
	id, connect, timeout := m.req.New(), m.d.Connect, m.d.timeout()
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		b, err := connect(ctx)
		if err != nil {
			return connectedMsg{Route: id, err: err}
		}
		ps, err := b.Pools(ctx)
		msg := connectedMsg{Route: id, b: b, err: err}
		for _, p := range ps {
			msg.names = append(msg.names, p.Name)
		}
		return msg
	}
}

// discover asks the host what the chosen type can be defined on. Never
// find-storage-pool-sources for iscsi-direct: the iscsi discovery serves
// both (libvirtd 9.0 crashes on the other).
func (m *Model) discover() tea.Cmd {
	m.phase = discovering
	m.discoverErr = nil
	id, b, timeout := m.req.New(), m.backend, m.d.timeout()
	typ, nfsHost, portal := model.PoolType(m.f.typ), m.f.srcHost, m.f.portal
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var f discovered
		var err error
		switch typ {
		case model.PoolNetFS:
			f.exports, err = b.FindNFSExports(ctx, nfsHost)
			if err != nil {
				err = fmt.Errorf("no NFS exports found at %s (no NFS server there, nothing exported to this host, or no showmount on it): %w", nfsHost, err)
			}
		case model.PoolLogical:
			if f.vgs, err = b.VolumeGroups(ctx); err == nil {
				f.devices, err = b.BlockDevices(ctx)
			}
		case model.PoolDisk, model.PoolFS:
			f.devices, err = b.BlockDevices(ctx)
		case model.PoolISCSI, model.PoolISCSIDirect:
			host, port, perr := model.ParsePortal(portal)
			if perr != nil {
				return discoveredMsg{Route: id, err: perr}
			}
			f.targets, err = b.FindISCSITargets(ctx, host, port, "")
			if err != nil {
				err = fmt.Errorf("discovery at %s failed (the host needs iscsiadm for sendtargets): %w", portal, err)
			}
		}
		if ctx.Err() != nil && err != nil {
			err = fmt.Errorf("discovery took longer than %s: %w", timeout, err)
		}
		return discoveredMsg{Route: id, found: f, err: err}
	}
}

func (m *Model) prepare() tea.Cmd {
	m.phase = preparing
	id, b, s, timeout := m.req.New(), m.backend, m.f.spec(), m.d.timeout()
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := b.PreflightDefine(ctx, s); err != nil {
			return preparedMsg{Route: id, err: err}
		}
		doc, err := b.PoolXML(s)
		return preparedMsg{Route: id, xml: doc, err: err}
	}
}

// start runs the plan in the drive progress view; the secret file is
// read inside the run and its bytes cleared by DefinePool.
func (m *Model) start() tea.Cmd {
	b, s, d := m.backend, m.f.spec(), m.d
	secretFile := m.f.secretFile
	run := func(ctx context.Context, events chan<- plan.Event) (resultOf, error) {
		res := resultOf{Host: d.HostURI, Pool: s.Name}
		var secret []byte
		if secretFile != "" {
			var err error
			if secret, err = d.ReadSecret(secretFile, s.CephUser); err != nil {
				return res, err
			}
		}
		left, err := b.DefinePool(ctx, plan.Runner{Host: d.HostURI, Audit: d.Audit, Events: events}, s, secret)
		res.Leftovers = append(res.Leftovers, left...)
		return res, err
	}
	m.progress = newProgress(s, run, d)
	m.progress.SetSize(m.width, m.height)
	m.progress.Focus()
	m.phase = running
	return m.progress.Init()
}

// Capturing: the forms take every key, and the run its cancel.
func (m *Model) Capturing() bool {
	if m.progress != nil {
		return m.progress.Capturing()
	}
	return m.phase == typeForm || m.phase == fieldsForm
}

// Title names the screen.
func (m *Model) Title() string { return "define pool" }

// Owns routes reads, discovery and the run here (common.Owner).
func (m *Model) Owns(r common.Route) (mine, current bool) {
	if m.progress != nil {
		if mine, current := m.progress.Owns(r); mine {
			return mine, current
		}
	}
	return m.req.Owns(r)
}

var _ common.Capturing = (*Model)(nil)
