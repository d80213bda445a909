package benchenc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"stowage/model"
	"stowage/plan"
)

// Images is what RBD needs of Ceph (ceph.Client satisfies it).
type Images interface {
	CreateImageWithoutDiff(pool, name string, size uint64) error
	FormatLUKS(pool, name, format string, passphrase []byte) error
	ImageID(pool, name string) (string, error)
	RemoveImageIfID(pool, name, id string) error
	RemoveImage(pool, name string) error
	ImageNames(pool string) ([]string, error)
}

// LUKS2HeaderSize is what librbd's LUKS2 header takes at the start of the
// image: the image is made that much larger so the guest sees the size.
const LUKS2HeaderSize = 16 * mib

// RBD keeps the scratch images in a Ceph pool, reached as the libvirt
// pool's cephx user at its monitors.
type RBD struct {
	Ceph Images
	Exec Exec
	// Pool is the Ceph pool; User the cephx user (without "client.").
	Pool, User string
	// Monitors are the libvirt pool's hosts (host:port); ConfFile a
	// ceph.conf for QEMU to read too ("" when none was found).
	Monitors []string
	ConfFile string
	// Key is the cephx key, base64 as in a keyring (QEMU gets it through
	// a pipe); the caller clears it.
	Key []byte
}

// Kind implements Storage.
func (r *RBD) Kind() string { return "rbd" }

// Formats implements Storage.
func (r *RBD) Formats() []Format { return []Format{Plain, QEMULUKS, LibrbdLUKS2} }

// Object implements Storage.
func (r *RBD) Object(name string) string { return r.Pool + "/" + name }

// Secrets implements Storage.
func (r *RBD) Secrets() [][]byte { return [][]byte{r.Key} }

// List implements Storage.
func (r *RBD) List(prefix string) ([]string, error) {
	names, err := r.Ceph.ImageNames(r.Pool)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, prefix) }), nil
}

// RemoveCommand removes an image by hand, as the pool's user.
func (r *RBD) RemoveCommand(name string) string {
	c := "rbd --id " + r.User
	if r.ConfFile != "" {
		c += " -c " + r.ConfFile
	}
	if len(r.Monitors) > 0 {
		c += " -m " + strings.Join(r.Monitors, ",")
	}
	return c + " rm " + r.Pool + "/" + name
}

// made records the image's id: the undo removes the image only while it
// still has it.
func (r *RBD) made(name string) (plan.Made, error) {
	id, err := r.Ceph.ImageID(r.Pool, name)
	m := plan.Made{What: "RBD image " + r.Object(name), Identity: id, Command: r.RemoveCommand(name)}
	if err != nil {
		// It exists (the create returned) but its id cannot be read: the
		// name is this run's own random one, so remove it by name.
		m.Undo = func(context.Context) error { return r.Ceph.RemoveImage(r.Pool, name) }
		return m, fmt.Errorf("id of %s: %w", r.Object(name), err)
	}
	m.Undo = func(context.Context) error {
		err := r.Ceph.RemoveImageIfID(r.Pool, name, id)
		if err != nil && errors.Is(err, model.ErrNotTheSame) {
			return fmt.Errorf("%w: %v", plan.ErrNotOurs, err)
		}
		return err
	}
	return m, nil
}

// Create implements Storage.
func (r *RBD) Create(ctx context.Context, f Format, name string, size uint64, pass []byte, retried Retried) (plan.Made, error) {
	switch f {
	case Plain:
		if err := r.Ceph.CreateImageWithoutDiff(r.Pool, name, size); err != nil {
			return plan.Made{}, err
		}
		return r.made(name)
	case LibrbdLUKS2:
		if err := r.Ceph.CreateImageWithoutDiff(r.Pool, name, size+LUKS2HeaderSize); err != nil {
			return plan.Made{}, err
		}
		m, err := r.made(name)
		if err != nil {
			return m, err
		}
		return m, r.Ceph.FormatLUKS(r.Pool, name, "luks2", pass)
	case QEMULUKS:
		// qemu-img makes the RBD image before it derives the key; a failed
		// attempt leaves it, and this run's random name is ours to remove.
		cleanup := func() error {
			names, err := r.List(name)
			if err != nil || !slices.Contains(names, name) {
				return err
			}
			return r.Ceph.RemoveImage(r.Pool, name)
		}
		err := CreateLUKS(ctx, r.Exec, r.filename(name), size, [][]byte{pass, r.Key}, cleanup, retried)
		if err != nil {
			return plan.Made{}, err
		}
		return r.made(name)
	}
	return plan.Made{}, fmt.Errorf("format %s is not benchmarked on rbd pools", f)
}

// filename is QEMU's legacy rbd: filename, the only form `qemu-img create`
// takes for RBD (its options are colon-separated; ':' and '\' escaped).
// The key comes through a secret object (password-secret), never here.
func (r *RBD) filename(name string) string {
	esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace
	s := "rbd:" + esc(r.Pool) + "/" + esc(name) + ":id=" + esc(r.User)
	if r.ConfFile != "" {
		s += ":conf=" + esc(r.ConfFile)
	}
	if len(r.Monitors) > 0 {
		s += ":mon_host=" + esc(strings.Join(r.Monitors, ","))
	}
	// The same features as the other images (see ceph's
	// CreateImageWithoutDiff): layering (1) and exclusive-lock (4).
	return s + ":rbd_default_features=5"
}

// Blockdev implements Storage: the rbd driver as the pool's user, the key
// from its secret object; librbd LUKS2 decrypts inside librbd
// (encrypt.format), QEMU-layer LUKS in a luks node above. No host cache
// (cache.direct also turns rbd_cache off), like fio's direct I/O in seed
// 003.
func (r *RBD) Blockdev(f Format, name string) map[string]any {
	n := map[string]any{"driver": "rbd", "pool": r.Pool, "image": name, "user": r.User,
		"key-secret": secretCephx, "auth-client-required": []string{"cephx"}, "cache": map[string]any{"direct": true}}
	if r.ConfFile != "" {
		n["conf"] = r.ConfFile
	}
	var servers []map[string]string
	for _, m := range r.Monitors {
		host, port, ok := strings.Cut(m, ":")
		if i := strings.LastIndex(m, ":"); i > 0 && strings.Count(m, ":") > 1 {
			host, port, ok = strings.Trim(m[:i], "[]"), m[i+1:], true
		}
		s := map[string]string{"host": host}
		if ok {
			s["port"] = port
		}
		servers = append(servers, s)
	}
	if len(servers) > 0 {
		n["server"] = servers
	}
	switch f {
	case LibrbdLUKS2:
		n["encrypt"] = map[string]any{"format": "luks2", "key-secret": secretPass}
	case QEMULUKS:
		return luksNode(n)
	}
	n["node-name"] = nodeName
	return n
}

func luksNode(file map[string]any) map[string]any {
	return map[string]any{"driver": "luks", "node-name": nodeName, "key-secret": secretPass,
		"cache": map[string]any{"direct": true}, "file": file}
}
