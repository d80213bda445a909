package libvirtx

import (
	"context"
	"fmt"

	"github.com/digitalocean/go-libvirt"

	"stowage/model"
)

// DeleteVolumeIf deletes pool/name only when check accepts the volume that
// has that name now, read in the same sequence of calls as the delete.
// A volume that is gone already is not an error.
func (c *Conn) DeleteVolumeIf(ctx context.Context, pool, name string, check func(model.Volume) error) error {
	ph, err := c.lookupPool(ctx, pool)
	if err != nil {
		return err
	}
	err = c.do(ctx, fmt.Sprintf("delete volume %s/%s", pool, name), func(l *libvirt.Libvirt) error {
		h, err := l.StorageVolLookupByName(ph, name)
		if err != nil {
			return err
		}
		doc, err := l.StorageVolGetXMLDesc(h, 0)
		if err != nil {
			return err
		}
		v, err := VolumeFromXML(pool, doc)
		if err != nil {
			return err
		}
		if err := check(v); err != nil {
			return err
		}
		return l.StorageVolDelete(h, 0)
	})
	if IsNotFound(err) {
		return nil
	}
	return err
}

// VolumeKeyByPath is the key of the volume at path on this host, found
// through the pools libvirt knows; ok is false when no pool has it.
func (c *Conn) VolumeKeyByPath(ctx context.Context, path string) (key string, ok bool, err error) {
	key, err = call(ctx, c, "look up volume "+path, func(l *libvirt.Libvirt) (string, error) {
		h, err := l.StorageVolLookupByPath(path)
		if err != nil {
			return "", err
		}
		return h.Key, nil
	})
	if IsNotFound(err) {
		return "", false, nil
	}
	return key, err == nil, err
}
