package cli

import (
	"context"

	"stowage/drive"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/ui/drivetransfer"
)

// The wipe, upload and download screens' backend: checks on the host's
// shared connection, the run on a connection of its own (workflow), which
// a cancelled or stalled stream cuts without touching the console's.

var _ drivetransfer.Backend = driveBackend{}

func (b driveBackend) Volume(ctx context.Context, pool, name string) (model.Volume, error) {
	return read(ctx, b, func(c *libvirtx.Conn) (model.Volume, error) { return c.Volume(ctx, pool, name) })
}

// checks runs a Prepare on the shared connection with the console's other
// hosts as peers: a drive in use on any of them is refused.
func checks(ctx context.Context, b driveBackend, fn func(drive.Deps) (drive.PreparedTransfer, error)) (drive.PreparedTransfer, error) {
	return read(ctx, b, func(c *libvirtx.Conn) (drive.PreparedTransfer, error) {
		d := b.env.DriveDeps(c, b.uri, "", "")
		d.Peers = b.peerHosts(ctx)
		return fn(d)
	})
}

func (b driveBackend) PrepareWipe(ctx context.Context, pool, name, algorithm string) (drive.PreparedTransfer, error) {
	return checks(ctx, b, func(d drive.Deps) (drive.PreparedTransfer, error) {
		return drive.PrepareWipe(ctx, d, pool, name, algorithm)
	})
}
func (b driveBackend) PrepareUpload(ctx context.Context, pool, name, file string) (drive.PreparedTransfer, error) {
	return checks(ctx, b, func(d drive.Deps) (drive.PreparedTransfer, error) {
		return drive.PrepareUpload(ctx, d, pool, name, file)
	})
}
func (b driveBackend) PrepareDownload(ctx context.Context, pool, name, file string) (drive.PreparedTransfer, error) {
	return checks(ctx, b, func(d drive.Deps) (drive.PreparedTransfer, error) {
		return drive.PrepareDownload(ctx, d, pool, name, file)
	})
}
func (b driveBackend) Wipe(ctx context.Context, p drive.PreparedTransfer, ev chan<- drive.Event) (drive.TransferResult, error) {
	return workflow(ctx, b, func(d drive.Deps) (drive.TransferResult, error) { return drive.Wipe(ctx, d, p, ev) })
}
func (b driveBackend) Upload(ctx context.Context, p drive.PreparedTransfer, ev chan<- drive.Event) (drive.TransferResult, error) {
	return workflow(ctx, b, func(d drive.Deps) (drive.TransferResult, error) { return drive.Upload(ctx, d, p, ev) })
}
func (b driveBackend) Download(ctx context.Context, p drive.PreparedTransfer, ev chan<- drive.Event) (drive.TransferResult, error) {
	return workflow(ctx, b, func(d drive.Deps) (drive.TransferResult, error) { return drive.Download(ctx, d, p, ev) })
}
