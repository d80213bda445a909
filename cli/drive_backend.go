package cli

import (
	"context"

	"stowage/cli/env"
	"stowage/drive"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/driveconfirm"
	"stowage/ui/driveprogress"
	"stowage/ui/driveresize"
	"stowage/ui/drivetransfer"
	"stowage/ui/drivewizard"
)

// connector returns a host's connection by URI: the console's sessions,
// or the environment's connector for a wizard run alone.
type connector func(ctx context.Context, uri string) (*libvirtx.Conn, error)

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
	env   *env.Env
}

var _ driveprogress.Backend = driveBackend{}

// read runs a read on the host's shared connection.
func read[T any](ctx context.Context, b driveBackend, fn func(*libvirtx.Conn) (T, error)) (T, error) {
	c, err := b.connect(ctx, b.uri)
	if err != nil {
		var zero T
		return zero, err
	}
	return fn(c)
}

// workflow runs fn on the workflow's own connection, closed when fn ends.
func workflow[T any](ctx context.Context, b driveBackend, fn func(drive.Deps) (T, error)) (T, error) {
	c, err := b.own(ctx, b.uri)
	if err != nil {
		var zero T
		return zero, err
	}
	defer c.Close()
	d := b.env.DriveDeps(c, b.uri, "", "")
	d.Peers = b.peerHosts(ctx)
	return fn(d)
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

func (b driveBackend) Pools(ctx context.Context) ([]model.Pool, error) {
	return read(ctx, b, func(c *libvirtx.Conn) ([]model.Pool, error) { return c.Pools(ctx) })
}
func (b driveBackend) VolumeNames(ctx context.Context, pool string) ([]string, error) {
	return read(ctx, b, func(c *libvirtx.Conn) ([]string, error) { return c.VolumeNames(ctx, pool) })
}
func (b driveBackend) DomainNames(ctx context.Context) ([]string, error) {
	return read(ctx, b, func(c *libvirtx.Conn) ([]string, error) { return c.DomainNames(ctx) })
}
func (b driveBackend) Domain(ctx context.Context, name string, inactive bool) (model.Domain, error) {
	return read(ctx, b, func(c *libvirtx.Conn) (model.Domain, error) { return c.Domain(ctx, name, inactive) })
}
func (b driveBackend) Prepare(ctx context.Context, s model.DriveSpec) (drive.Prepared, error) {
	return read(ctx, b, func(c *libvirtx.Conn) (drive.Prepared, error) {
		return drive.Prepare(ctx, b.env.DriveDeps(c, b.uri, "", ""), s)
	})
}
func (b driveBackend) PrepareAttach(ctx context.Context, a drive.AttachSpec) (drive.Prepared, string, error) {
	c, err := b.connect(ctx, b.uri)
	if err != nil {
		return drive.Prepared{}, "", err
	}
	return drive.PrepareAttach(ctx, b.env.DriveDeps(c, b.uri, "", ""), a)
}
func (b driveBackend) Create(ctx context.Context, p drive.Prepared, ev chan<- drive.Event) (drive.Result, error) {
	return workflow(ctx, b, func(d drive.Deps) (drive.Result, error) { return drive.Create(ctx, d, p, ev) })
}
func (b driveBackend) Attach(ctx context.Context, p drive.Prepared, secret string, ev chan<- drive.Event) (drive.Result, error) {
	return workflow(ctx, b, func(d drive.Deps) (drive.Result, error) { return drive.Attach(ctx, d, p, secret, ev) })
}
func (b driveBackend) Detach(ctx context.Context, vm, target string, mode model.AttachMode, ev chan<- drive.Event) (drive.Result, error) {
	return workflow(ctx, b, func(d drive.Deps) (drive.Result, error) { return drive.Detach(ctx, d, vm, target, mode, ev) })
}
func (b driveBackend) Delete(ctx context.Context, pool, name string, ev chan<- drive.Event) (drive.Result, error) {
	return workflow(ctx, b, func(d drive.Deps) (drive.Result, error) { return drive.Delete(ctx, d, pool, name, ev) })
}

// driveActions builds the browser's drive actions over the environment's
// hosts, reads on connect. Under --readonly every one stays nil, so the
// keys vanish. A workflow on one host checks the others (drive.Deps.Peers).
func driveActions(e *env.Env, connect connector) common.Actions {
	if e.ReadOnly {
		return common.Actions{}
	}
	backend := func(uri string) driveBackend {
		return driveBackend{uri: uri, connect: connect, own: e.OwnDial, peers: e.Hosts, env: e}
	}
	d := drivewizard.Deps{Styles: e.Styles, Log: e.Log, Timeout: e.Timeout, Keys: e.Keys,
		Backend: func(uri string) (driveprogress.Backend, error) { return backend(uri), nil }}
	td := drivetransfer.Deps{Deps: d, Transfer: func(uri string) (drivetransfer.Backend, error) { return backend(uri), nil }}
	return common.Actions{
		CreateDrive:   func(at common.DriveTarget) common.Component { return drivewizard.New(d, at) },
		AttachDrive:   func(at common.DriveTarget) common.Component { return drivewizard.NewAttach(d, at) },
		DetachDrive:   func(at common.DriveTarget) common.Component { return driveconfirm.NewDetach(d, at) },
		DeleteDrive:   func(at common.DriveTarget) common.Component { return driveconfirm.NewDelete(d, at) },
		CloneDrive:    cloneAction(d, backend),
		WipeDrive:     func(at common.DriveTarget) common.Component { return drivetransfer.NewWipe(td, at) },
		UploadDrive:   func(at common.DriveTarget) common.Component { return drivetransfer.NewUpload(td, at) },
		DownloadDrive: func(at common.DriveTarget) common.Component { return drivetransfer.NewDownload(td, at) },
		ResizeDrive:   func(at common.DriveTarget) common.Component { return driveresize.New(resizeDeps(e, connect), at) },
	}
}
