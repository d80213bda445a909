package cli

import (
	"context"

	"stowage/cli/env"
	"stowage/drive"
	"stowage/libvirtx"
	"stowage/ui/driveresize"
)

// The console's resize screen on the drive backend: reads on the
// session, the resize on a connection of its own (see driveBackend),
// and the other hosts of the console as peers, so that a VM on any of
// them holding a shared drive is found and resized through.

var _ driveresize.Backend = driveBackend{}

func (b driveBackend) InspectResize(ctx context.Context, pool, name string) (drive.ResizeTarget, error) {
	return read(ctx, b, func(c *libvirtx.Conn) (drive.ResizeTarget, error) {
		d := b.env.DriveDeps(c, b.uri, "", "")
		d.Peers = b.peerHosts(ctx)
		return drive.InspectResize(ctx, d, pool, name, "")
	})
}

func (b driveBackend) PrepareResize(ctx context.Context, s drive.ResizeSpec) (drive.ResizePrepared, error) {
	return read(ctx, b, func(c *libvirtx.Conn) (drive.ResizePrepared, error) {
		d := b.env.DriveDeps(c, b.uri, "", "")
		d.Peers = b.peerHosts(ctx)
		return drive.PrepareResize(ctx, d, s)
	})
}

func (b driveBackend) Resize(ctx context.Context, p drive.ResizePrepared, ev chan<- drive.Event) (drive.Result, error) {
	return workflow(ctx, b, func(d drive.Deps) (drive.Result, error) { return drive.Resize(ctx, d, p, ev) })
}

// resizeDeps builds the resize screen's dependencies over the console's
// hosts (as driveActions does for the other drive screens).
func resizeDeps(e *env.Env, connect connector) driveresize.Deps {
	return driveresize.Deps{Styles: e.Styles, Log: e.Log, Timeout: e.Timeout, Keys: e.Keys,
		Backend: func(uri string) (driveresize.Backend, error) {
			return driveBackend{uri: uri, connect: connect, own: e.OwnDial, peers: e.Hosts, env: e}, nil
		}}
}
