package libvirtx

import (
	"context"
	"fmt"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

// PoolSpec is a first pool the console offers to create: a dir pool on a
// path, or an rbd pool on a Ceph cluster.
type PoolSpec struct {
	Name string
	Type string // dir or rbd
	// Path is the dir pool's directory (created by pool-build).
	Path string
	// Monitors ("host[:port]"), CephPool and CephUser describe an rbd pool;
	// the cephx key is passed separately to CreatePool and stored as a
	// private libvirt secret.
	Monitors []string
	CephPool string
	CephUser string
}

// PoolSpecXML renders a PoolSpec; secretUUID names the cephx secret (rbd).
func PoolSpecXML(s PoolSpec, secretUUID string) (string, error) {
	x := libvirtxml.StoragePool{Type: s.Type, Name: s.Name}
	switch s.Type {
	case "dir":
		if s.Path == "" {
			return "", fmt.Errorf("dir pool %q needs a path", s.Name)
		}
		x.Target = &libvirtxml.StoragePoolTarget{Path: s.Path}
	case "rbd":
		if len(s.Monitors) == 0 || s.CephPool == "" || s.CephUser == "" {
			return "", fmt.Errorf("rbd pool %q needs monitors, a Ceph pool and a cephx user", s.Name)
		}
		src := &libvirtxml.StoragePoolSource{Name: s.CephPool}
		for _, m := range s.Monitors {
			h := libvirtxml.StoragePoolSourceHost{Name: m}
			if host, port, ok := cutPort(m); ok {
				h.Name, h.Port = host, port
			}
			src.Host = append(src.Host, h)
		}
		src.Auth = &libvirtxml.StoragePoolSourceAuth{Type: "ceph", Username: s.CephUser,
			Secret: &libvirtxml.StoragePoolSourceAuthSecret{UUID: secretUUID}}
		x.Source = src
	default:
		return "", fmt.Errorf("pool type %q: the first-pool form makes dir or rbd pools", s.Type)
	}
	return x.Marshal()
}

func cutPort(hp string) (string, string, bool) {
	for i := len(hp) - 1; i >= 0; i-- {
		if hp[i] == ':' {
			return hp[:i], hp[i+1:], i > 0 && i < len(hp)-1
		}
		if hp[i] < '0' || hp[i] > '9' {
			return hp, "", false
		}
	}
	return hp, "", false
}

// CreatePool defines, builds (dir), starts and autostarts a pool. For rbd,
// cephxKey (raw key bytes, i.e. base64-decoded) is stored first as a
// private 'ceph' secret; it is never logged. On failure everything made
// here is removed again.
func (c *Conn) CreatePool(ctx context.Context, s PoolSpec, cephxKey []byte) error {
	secretUUID := ""
	if s.Type == "rbd" {
		var err error
		secretUUID, err = c.DefineSecret(ctx, SecretSpec{UsageType: "ceph", UsageID: "stowage " + s.Name,
			Description: "cephx key of " + s.CephUser + " for pool " + s.Name}, cephxKey)
		if err != nil {
			return err
		}
	}
	undo := func() {
		if secretUUID != "" {
			_ = c.UndefineSecret(context.Background(), secretUUID)
		}
	}
	doc, err := PoolSpecXML(s, secretUUID)
	if err != nil {
		undo()
		return err
	}
	err = c.do(ctx, fmt.Sprintf("create %s pool %q", s.Type, s.Name), func(l *libvirt.Libvirt) error {
		h, err := l.StoragePoolDefineXML(doc, 0)
		if err != nil {
			return err
		}
		fail := func(step string, err error) error {
			_ = l.StoragePoolDestroy(h)
			_ = l.StoragePoolUndefine(h)
			return fmt.Errorf("%s: %w", step, err)
		}
		if s.Type == "dir" {
			if err := l.StoragePoolBuild(h, 0); err != nil {
				return fail("build", err)
			}
		}
		if err := l.StoragePoolCreate(h, 0); err != nil {
			return fail("start", err)
		}
		if err := l.StoragePoolSetAutostart(h, 1); err != nil {
			return fail("autostart", err)
		}
		return nil
	})
	if err != nil {
		undo()
	}
	return err
}

// DeletePool stops and undefines a pool (not its volumes' data for rbd;
// a dir pool's directory is left in place).
func (c *Conn) DeletePool(ctx context.Context, name string) error {
	h, err := c.lookupPool(ctx, name)
	if err != nil {
		return err
	}
	return c.do(ctx, fmt.Sprintf("delete pool %q", name), func(l *libvirt.Libvirt) error {
		_ = l.StoragePoolDestroy(h)
		return l.StoragePoolUndefine(h)
	})
}
