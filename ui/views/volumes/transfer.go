package volumes

import (
	"charm.land/bubbles/v2/key"

	"stowage/ui/common"
	"stowage/ui/views/kind"
)

// transferActions offers wipe, upload and download on a volume's row,
// each absent under --readonly (its Actions field is nil). Where the
// pool's backend cannot (rbd has no streams in libvirt 9.0), the screen
// says so with the alternative, rather than the key vanishing unexplained.
func transferActions(c kind.Ctx, at common.DriveTarget) []kind.Action {
	var out []kind.Action
	add := func(b key.Binding, open func(common.DriveTarget) common.Component) {
		if open != nil {
			out = append(out, kind.Action{Binding: b, Open: func() common.Component { return open(at) }})
		}
	}
	add(c.Keys.WipeDrive, c.Actions.WipeDrive)
	add(c.Keys.UploadDrive, c.Actions.UploadDrive)
	add(c.Keys.DownloadDrive, c.Actions.DownloadDrive)
	return out
}
