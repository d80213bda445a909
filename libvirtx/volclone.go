package libvirtx

import (
	"context"
	"fmt"

	"github.com/digitalocean/go-libvirt"

	"stowage/model"
)

// CloneVolumeWatched makes volume s in pool as a copy of fromPool/from
// (virStorageVolCreateXMLFrom), polled and bounded like
// CreateVolumeWatched. When s names an <encryption> with a secret and the
// source volume is QEMU-layer LUKS, libvirt 9.0 runs qemu-img convert with
// both secrets (measured on the lab): the copy is decrypted with the
// source's and encrypted with s's, so the clone has its own key. Neither
// secret's value leaves libvirt.
func (c *Conn) CloneVolumeWatched(ctx context.Context, pool string, s model.VolumeSpec, ci *model.Cipher, fromPool, from string, w model.CreateWatch) (model.Volume, error) {
	doc, err := VolumeXMLWithCipher(s, ci)
	if err != nil {
		return model.Volume{}, err
	}
	src, err := c.lookupPool(ctx, fromPool)
	if err != nil {
		return model.Volume{}, err
	}
	what := fmt.Sprintf("clone volume %s/%s to %s/%s", fromPool, from, pool, s.Name)
	return c.buildWatched(ctx, pool, s.Name, what, w,
		func(l *libvirt.Libvirt, ph libvirt.StoragePool) (libvirt.StorageVol, error) {
			v, err := l.StorageVolLookupByName(src, from)
			if err != nil {
				return libvirt.StorageVol{}, err
			}
			return l.StorageVolCreateXMLFrom(ph, doc, v, 0)
		})
}
