package libvirtx

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"stowage/model"
	"stowage/plan"
)

// PoolSpecXML renders a model.PoolSpec of any definable type (the other
// types in pooldefine_any.go); secretUUID names the new cephx secret (rbd).
func PoolSpecXML(s model.PoolSpec, secretUUID string) (string, error) {
	x := libvirtxml.StoragePool{Type: s.Type, Name: s.Name}
	switch s.Type {
	case "dir":
		if s.Path == "" {
			return "", fmt.Errorf("dir pool %q needs a path", s.Name)
		}
		x.Target = &libvirtxml.StoragePoolTarget{Path: s.Path}
	case "fs", "netfs", "logical", "disk", "iscsi", "iscsi-direct":
		return otherPoolXML(x, s)
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
		if s.CephSecretUUID != "" {
			secretUUID = s.CephSecretUUID
		}
		src.Auth = &libvirtxml.StoragePoolSourceAuth{Type: "ceph", Username: s.CephUser,
			Secret: &libvirtxml.StoragePoolSourceAuthSecret{UUID: secretUUID}}
		x.Source = src
	default:
		return "", fmt.Errorf("pool type %q: stowage defines dir, fs, netfs, logical, disk, rbd, iscsi and iscsi-direct pools", s.Type)
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

// ErrExists is the refusal to create what exists already (a pool of that
// name, a secret with that usage). Nothing was made, so nothing is undone.
var ErrExists = errors.New("exists already")

// CreatePool creates a first pool through r: it refuses (and audits the
// refusal) when a pool of that name or the rbd secret's usage exists, then
// runs PoolActions. cephxKey (rbd: the raw key, base64-decoded) is cleared
// before CreatePool returns. On a failure r undoes what this run made,
// each object only while it still has the identity its step recorded.
func (c *Conn) CreatePool(ctx context.Context, r plan.Runner, s model.PoolSpec, cephxKey []byte) ([]plan.Leftover, error) {
	defer clear(cephxKey)
	object := "pool " + s.Name
	if err := c.checkPoolAbsent(ctx, s); err != nil {
		if errors.Is(err, ErrExists) {
			return nil, r.Refuse("create pool", object, err)
		}
		return nil, err
	}
	acts, err := c.PoolActions(s, cephxKey)
	if err != nil {
		return nil, r.Refuse("create pool", object, err)
	}
	return r.Run(ctx, acts)
}

// checkPoolAbsent wraps ErrExists when the name, or the rbd secret's
// usage, is taken.
func (c *Conn) checkPoolAbsent(ctx context.Context, s model.PoolSpec) error {
	h, err := c.lookupPool(ctx, s.Name)
	switch {
	case err == nil:
		return fmt.Errorf("pool %q %w on this host (uuid %s): pick another name; stowage leaves it alone", s.Name, ErrExists, FormatUUID(h.UUID))
	case !IsNotFound(err):
		return err
	}
	if s.Type != "rbd" {
		return nil
	}
	sec, err := call(ctx, c, fmt.Sprintf("look up ceph secret %q", s.SecretUsage()), func(l *libvirt.Libvirt) (libvirt.Secret, error) {
		return l.SecretLookupByUsage(int32(libvirt.SecretUsageTypeCeph), s.SecretUsage())
	})
	switch {
	case err == nil:
		return fmt.Errorf("a ceph secret with usage %q %w (uuid %s): remove it (virsh secret-undefine %s) or pick another pool name",
			s.SecretUsage(), ErrExists, FormatUUID(sec.UUID), FormatUUID(sec.UUID))
	case !IsNotFound(err):
		return err
	}
	return nil
}

// PoolActions are the steps of model.PoolPlan as plan actions: the define
// plan (DefinePoolActions, same step IDs) of a pool that starts with
// libvirtd. Each records the identity of what it made (the secret's UUID,
// the pool's UUID from the define) and its undo acts on that identity
// only: a pool another admin defined under the same name after ours was
// removed is never touched. cephxKey is read by the secret step; the
// caller clears it.
func (c *Conn) PoolActions(s model.PoolSpec, cephxKey []byte) ([]plan.Action, error) {
	if s.Type != "dir" && s.Type != "rbd" {
		return nil, fmt.Errorf("pool type %q: the first-pool form makes dir or rbd pools", s.Type)
	}
	if s.Type == "rbd" && len(cephxKey) == 0 {
		return nil, fmt.Errorf("rbd pool %q needs the cephx key of client.%s", s.Name, s.CephUser)
	}
	s.Autostart, s.NoStart, s.CephSecretUUID = true, false, ""
	return c.DefinePoolActions(s, cephxKey)
}

// onOurPool runs fn on the pool with uuid, looked up by that UUID (never
// by name), after checking it still has the name this run gave it. A pool
// gone from that UUID is not ours to touch: the error wraps
// plan.ErrNotOurs, whatever now carries the name is left alone.
func (c *Conn) onOurPool(ctx context.Context, verb, name, uuid string, fn func(*libvirt.Libvirt, libvirt.StoragePool) error) error {
	u, err := ParseUUID(uuid)
	if err != nil {
		return fmt.Errorf("%s pool %q: %w", verb, name, err)
	}
	return c.do(ctx, fmt.Sprintf("%s pool %q (uuid %s)", verb, name, uuid), func(l *libvirt.Libvirt) error {
		h, err := l.StoragePoolLookupByUUID(u)
		if IsNotFound(err) {
			return fmt.Errorf("%w: pool %s (uuid %s) is gone; a pool of that name now, if any, is another admin's", plan.ErrNotOurs, name, uuid)
		}
		if err != nil {
			return err
		}
		if h.Name != name {
			return fmt.Errorf("%w: the pool with uuid %s is now named %q", plan.ErrNotOurs, uuid, h.Name)
		}
		return fn(l, h)
	})
}

// localPathExists reports whether path exists, when the libvirtd is on
// this machine (unix socket); known is false for a remote host.
func (c *Conn) localPathExists(path string) (exists, known bool) {
	if c.Target.Transport != "unix" || c.Target.Driver == "test" {
		return false, c.Target.Driver == "test"
	}
	_, err := os.Stat(path)
	if err == nil {
		return true, true
	}
	return false, errors.Is(err, os.ErrNotExist)
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
