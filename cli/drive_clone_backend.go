package cli

import (
	"context"

	"stowage/drive"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/driveclone"
	"stowage/ui/drivewizard"
)

var _ driveclone.Backend = driveBackend{}

// PrepareClone checks a clone on the host's shared connection (a read).
func (b driveBackend) PrepareClone(ctx context.Context, s model.CloneSpec) (drive.PreparedClone, error) {
	return read(ctx, b, func(c *libvirtx.Conn) (drive.PreparedClone, error) {
		d := b.env.DriveDeps(c, b.uri, "", "")
		d.Peers = b.peerHosts(ctx)
		return drive.PrepareClone(ctx, d, s)
	})
}

// Clone runs on the workflow's own connection, like every drive workflow.
func (b driveBackend) Clone(ctx context.Context, p drive.PreparedClone, ev chan<- drive.Event) (drive.Result, error) {
	return workflow(ctx, b, func(d drive.Deps) (drive.Result, error) { return drive.Clone(ctx, d, p, ev) })
}

// cloneAction opens the clone screen on a volume (nil is never passed:
// driveActions leaves it out under --readonly).
func cloneAction(d drivewizard.Deps, backend func(uri string) driveBackend) func(common.DriveTarget) common.Component {
	cd := driveclone.Deps{Deps: d, Clones: func(uri string) (driveclone.Backend, error) { return backend(uri), nil }}
	return func(at common.DriveTarget) common.Component { return driveclone.New(cd, at) }
}
