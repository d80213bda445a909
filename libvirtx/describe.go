package libvirtx

import (
	"context"
	"fmt"

	"github.com/digitalocean/go-libvirt"
)

// PoolDescXML is a pool's XML description (`virsh pool-dumpxml`).
func (c *Conn) PoolDescXML(ctx context.Context, name string) (string, error) {
	h, err := c.lookupPool(ctx, name)
	if err != nil {
		return "", err
	}
	return call(ctx, c, fmt.Sprintf("read pool %q", name), func(l *libvirt.Libvirt) (string, error) {
		return l.StoragePoolGetXMLDesc(h, 0)
	})
}

// VolumeDescXML is a volume's XML description (`virsh vol-dumpxml`).
func (c *Conn) VolumeDescXML(ctx context.Context, pool, name string) (string, error) {
	ph, err := c.lookupPool(ctx, pool)
	if err != nil {
		return "", err
	}
	return call(ctx, c, fmt.Sprintf("read volume %s/%s", pool, name), func(l *libvirt.Libvirt) (string, error) {
		h, err := l.StorageVolLookupByName(ph, name)
		if err != nil {
			return "", err
		}
		return l.StorageVolGetXMLDesc(h, 0)
	})
}

// PoolCapsXML is the raw storage pool capabilities document (`virsh
// pool-capabilities`).
func (c *Conn) PoolCapsXML(ctx context.Context) (string, error) {
	return call(ctx, c, "get storage pool capabilities", func(l *libvirt.Libvirt) (string, error) {
		return l.ConnectGetStoragePoolCapabilities(0)
	})
}
