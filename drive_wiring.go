package main

import (
	"context"
	"log/slog"
	"time"

	tea "charm.land/bubbletea/v2"

	"stowage/drive"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/driveconfirm"
	"stowage/ui/driveprogress"
	"stowage/ui/drivewizard"
)

// driveBackend adapts one host and the drive workflows to the drive
// screens' Backend. It holds no connection: each call gets one with its own
// context, so dialing a slow or hung host happens in the screen's tea.Cmd,
// never on the UI goroutine when a screen opens.
//   - Reads (pools, VMs, Prepare) use the connector: the console's sessions.
//   - A workflow (create, attach, detach, delete) dials a connection of its
//     own (own), closed when it ends: a console refresh that times out or
//     is cancelled cuts the session's socket, and must not cut the socket
//     a running workflow and its rollback stand on. That connection redials
//     when its socket is gone (libvirtx.DialOwned), so a rollback after a
//     timeout still runs.
type driveBackend struct {
	uri     string
	connect connector
	own     connector
	// peers are every host of the console (this one included, skipped).
	peers []string
	cfg   config
	log   *slog.Logger
}

var _ driveprogress.Backend = driveBackend{}

func (b driveBackend) conn(ctx context.Context) (*libvirtx.Conn, error) { return b.connect(ctx, b.uri) }

func (b driveBackend) deps(ctx context.Context) (drive.Deps, error) {
	c, err := b.conn(ctx)
	if err != nil {
		return drive.Deps{}, err
	}
	return driveDeps(c, b.uri, b.cfg, "", "", b.log), nil
}

// workflow dials the workflow's own connection; done closes it.
func (b driveBackend) workflow(ctx context.Context) (d drive.Deps, done func(), err error) {
	own := b.own
	if own == nil {
		own = ownDial(libvirtx.DefaultTimeout)
	}
	c, err := own(ctx, b.uri)
	if err != nil {
		return drive.Deps{}, nil, err
	}
	d = driveDeps(c, b.uri, b.cfg, "", "", b.log)
	d.Peers = b.peerHosts(ctx)
	return d, func() { _ = c.Close() }, nil
}

// peerHosts are the console's other hosts, on their sessions, for the
// checks that span hosts (a drive on shared storage in use elsewhere, a
// secret another host's volume references). A host that cannot be
// reached is passed with its error: drive refuses to delete shared
// storage it cannot check.
func (b driveBackend) peerHosts(ctx context.Context) []drive.Peer {
	var out []drive.Peer
	for _, uri := range b.peers {
		if uri == b.uri {
			continue
		}
		c, err := b.connect(ctx, uri)
		if err != nil {
			out = append(out, drive.Peer{Host: uri, Err: err})
			continue
		}
		out = append(out, drive.Peer{Host: uri, Libvirt: c})
	}
	return out
}

// ownDial is the connector of workflows: a fresh connection per call that
// redials when its socket is gone (libvirtx.DialOwned).
func ownDial(timeout time.Duration) connector {
	return func(ctx context.Context, uri string) (*libvirtx.Conn, error) {
		return libvirtx.DialOwned(ctx, uri, libvirtx.Options{Timeout: timeout})
	}
}

func (b driveBackend) Pools(ctx context.Context) ([]model.Pool, error) {
	c, err := b.conn(ctx)
	if err != nil {
		return nil, err
	}
	return c.Pools(ctx)
}
func (b driveBackend) VolumeNames(ctx context.Context, pool string) ([]string, error) {
	c, err := b.conn(ctx)
	if err != nil {
		return nil, err
	}
	return c.VolumeNames(ctx, pool)
}
func (b driveBackend) DomainNames(ctx context.Context) ([]string, error) {
	c, err := b.conn(ctx)
	if err != nil {
		return nil, err
	}
	return c.DomainNames(ctx)
}
func (b driveBackend) Domain(ctx context.Context, name string, inactive bool) (model.Domain, error) {
	c, err := b.conn(ctx)
	if err != nil {
		return model.Domain{}, err
	}
	return c.Domain(ctx, name, inactive)
}
func (b driveBackend) Prepare(ctx context.Context, s model.DriveSpec) (drive.Prepared, error) {
	d, err := b.deps(ctx)
	if err != nil {
		return drive.Prepared{}, err
	}
	return drive.Prepare(ctx, d, s)
}
func (b driveBackend) Create(ctx context.Context, p drive.Prepared, ev chan<- drive.Event) (drive.Result, error) {
	d, done, err := b.workflow(ctx)
	if err != nil {
		return drive.Result{}, err
	}
	defer done()
	return drive.Create(ctx, d, p, ev)
}
func (b driveBackend) PrepareAttach(ctx context.Context, a drive.AttachSpec) (drive.Prepared, string, error) {
	d, err := b.deps(ctx)
	if err != nil {
		return drive.Prepared{}, "", err
	}
	return drive.PrepareAttach(ctx, d, a)
}
func (b driveBackend) Attach(ctx context.Context, p drive.Prepared, secret string, ev chan<- drive.Event) (drive.Result, error) {
	d, done, err := b.workflow(ctx)
	if err != nil {
		return drive.Result{}, err
	}
	defer done()
	return drive.Attach(ctx, d, p, secret, ev)
}
func (b driveBackend) Detach(ctx context.Context, vm, target string, mode model.AttachMode, ev chan<- drive.Event) (drive.Result, error) {
	d, done, err := b.workflow(ctx)
	if err != nil {
		return drive.Result{}, err
	}
	defer done()
	return drive.Detach(ctx, d, vm, target, mode, ev)
}
func (b driveBackend) Delete(ctx context.Context, pool, name string, ev chan<- drive.Event) (drive.Result, error) {
	d, done, err := b.workflow(ctx)
	if err != nil {
		return drive.Result{}, err
	}
	defer done()
	return drive.Delete(ctx, d, pool, name, ev)
}

// connector returns a host's connection by URI: the console's sessions,
// or a single dial for `stowage drive wizard`.
type connector func(ctx context.Context, uri string) (*libvirtx.Conn, error)

// driveActions builds the browser's drive actions over the console's
// hosts. Under --readonly every one stays nil, so the keys vanish.
//
// hosts are every host the console is connected to: a workflow on one of
// them checks the others (drive.Deps.Peers).
func driveActions(connect connector, hosts []string, cfg config, readonly bool, styles themes.Styles, log *slog.Logger, timeout time.Duration) common.Actions {
	if readonly {
		return common.Actions{}
	}
	d := drivewizard.Deps{Styles: styles, Log: log, Timeout: timeout,
		Backend: func(uri string) (driveprogress.Backend, error) {
			return driveBackend{uri: uri, connect: connect, own: ownDial(timeout), peers: hosts, cfg: cfg, log: log}, nil
		}}
	return common.Actions{
		CreateDrive: func(at common.DriveTarget) common.Component { return drivewizard.New(d, at) },
		AttachDrive: func(at common.DriveTarget) common.Component { return drivewizard.NewAttach(d, at) },
		DetachDrive: func(at common.DriveTarget) common.Component { return driveconfirm.NewDetach(d, at) },
		DeleteDrive: func(at common.DriveTarget) common.Component { return driveconfirm.NewDelete(d, at) },
	}
}

// screenHost runs one drive screen on its own (`stowage drive wizard`):
// the smallest root that honours the Component contract's Push and Pop.
type screenHost struct {
	stack  []common.Component
	result tea.Msg
	w, h   int
	// exitReport: quit by a second Ctrl+C during a workflow; printed
	// after the program ended.
	exitReport string
}

func (s *screenHost) Init() tea.Cmd { return s.stack[0].Init() }

func (s *screenHost) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		s.w, s.h = msg.Width, msg.Height
		for _, c := range s.stack {
			c.SetSize(msg.Width, msg.Height)
		}
	case common.PushMsg:
		msg.Screen.SetSize(s.w, s.h)
		msg.Screen.Focus()
		s.stack = append(s.stack, msg.Screen)
		return s, msg.Screen.Init()
	case common.QuitMsg:
		s.exitReport = msg.Report
		return s, tea.Quit
	case common.PopMsg:
		s.stack = s.stack[:len(s.stack)-1]
		if len(s.stack) == 0 {
			s.result = msg.Result
			return s, tea.Quit
		}
		return s, nil
	}
	top := len(s.stack) - 1
	c, cmd := s.stack[top].Update(msg)
	s.stack[top] = c
	return s, cmd
}

func (s *screenHost) View() tea.View {
	if len(s.stack) == 0 {
		return tea.NewView("")
	}
	v := tea.NewView(s.stack[len(s.stack)-1].View())
	v.AltScreen = true
	return v
}
