//go:build !noceph

package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"stowage/ceph"
	"stowage/cli/env"
	"stowage/drive"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
)

// cephRig is the lab's rbd pool as libvirt describes it, and the cephx key
// of its user (read from the lab's keyring, to check that it leaks nowhere).
type cephRig struct {
	env  lab.Env
	conn *libvirtx.Conn
	pool model.Pool
	key  []byte // base64 text, as in the keyring
}

func newCephRig(t *testing.T) *cephRig {
	t.Helper()
	env := lab.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := libvirtx.Dial(ctx, env.URI, libvirtx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	pool, err := conn.Pool(ctx, env.RBDPool)
	if err != nil {
		t.Fatal(err)
	}
	if pool.AuthUser != env.CephUser || pool.AuthSecretUUID == "" || len(pool.SourceHosts) == 0 {
		t.Fatalf("lab rbd pool %+v: want <auth username=%q> with a secret, and monitors", pool, env.CephUser)
	}
	b, err := os.ReadFile(env.CephKeyring)
	if err != nil {
		t.Fatal(err)
	}
	r := &cephRig{env: env, conn: conn, pool: pool}
	for line := range bytes.Lines(b) {
		if k, v, ok := bytes.Cut(bytes.TrimSpace(line), []byte("=")); ok && string(bytes.TrimSpace(k)) == "key" {
			r.key = append([]byte(nil), bytes.TrimSpace(v)...)
		}
	}
	clear(b)
	if len(r.key) == 0 {
		t.Fatalf("no key in %s", env.CephKeyring)
	}
	t.Cleanup(func() { clear(r.key) })
	return r
}

func (r *cephRig) noKeyIn(t *testing.T, what, s string) {
	t.Helper()
	raw, _ := base64.StdEncoding.DecodeString(string(r.key))
	defer clear(raw)
	if strings.Contains(s, string(r.key)) || (len(raw) > 0 && strings.Contains(s, string(raw))) {
		t.Errorf("%s contains the cephx key", what)
	}
}

// The headline: with nothing configured (no flags, an empty config.yaml
// directory), `stowage drive create --encryption luks2` on the lab's rbd
// pool finds ceph.conf and client.libvirt's keyring in /etc/ceph, where
// lab/up installs them, formats a real LUKS2 image, and deletes it.
func TestLabDriveCreateLUKS2NoCephFlags(t *testing.T) {
	r := newCephRig(t)
	conf, _, err := ceph.HostLocator().Conf("", r.env.CephUser)
	if err != nil {
		t.Fatal(err)
	}
	keyring, looked, _ := ceph.HostLocator().Keyring(r.env.CephUser, conf)
	if keyring == "" {
		lab.Unavailable(t, "no keyring for client.%s where librados looks (lab/up installs one in /etc/ceph when nothing is there): %v", r.env.CephUser, looked)
	}
	state := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_STATE_HOME", state)
	name := fmt.Sprintf("TestLabDriveCreateLUKS2NoCephFlags-%08x", rand.Uint32())
	var stdout, stderr bytes.Buffer
	tap := &tapRand{}
	code := runDriveWith([]string{"create", "--uri", r.env.URI, "--pool", r.env.RBDPool, "--name", name,
		"--size", "64M", "--encryption", "luks2", "--json"}, &stdout, &stderr, tap)
	t.Cleanup(func() {
		ctx := context.Background()
		if vols, err := r.conn.VolumeNames(ctx, r.env.RBDPool); err == nil && slices.Contains(vols, name) {
			_ = r.conn.DeleteVolume(ctx, r.env.RBDPool, name)
		}
		if uuid, ok, err := r.conn.SecretByVolumeUsage(ctx, r.env.CephPool+"/"+name); err == nil && ok {
			_ = r.conn.UndefineSecret(ctx, uuid)
		}
	})
	if code != 0 {
		t.Fatalf("create with no Ceph flags: exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}

	cl, err := ceph.Connect(context.Background(), ceph.Config{ConfFile: r.env.CephConf, User: r.env.CephUser, Keyring: r.env.CephKeyring})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	head, err := cl.ReadImageHead(r.env.CephPool, name, 8)
	if err != nil || drive.LUKSVersion(head) != 2 {
		t.Errorf("image head %q, %v; want a LUKS2 header", head, err)
	}
	if size, err := cl.ImageSize(r.env.CephPool, name); err != nil || size != 64<<20+model.LUKS2HeaderBytes {
		t.Errorf("image size %d, %v; want 64 MiB + the LUKS2 header", size, err)
	}

	stdout.Reset()
	if code := runDriveWith([]string{"delete", "--uri", r.env.URI, "--pool", r.env.RBDPool, "--name", name, "--confirm", name},
		&stdout, &stderr, nil); code != 0 {
		t.Fatalf("delete: exit %d\n%s", code, stderr.String())
	}
	if names, err := cl.ImageNames(r.env.CephPool); err != nil || slices.Contains(names, name) {
		t.Errorf("image %s still there after delete: %v", name, err)
	}

	logs, _ := os.ReadFile(filepath.Join(state, "stowage", "stowage.log"))
	audit, _ := os.ReadFile(filepath.Join(state, "stowage", "audit.jsonl"))
	if !bytes.Contains(logs, []byte(`key_from="keyring `+keyring+`"`)) {
		t.Errorf("stowage.log does not say that %s was used:\n%s", keyring, logs)
	}
	all := stdout.String() + stderr.String() + string(logs) + string(audit)
	r.noKeyIn(t, "stdout, stderr, stowage.log or the audit log", all)
	pass := base64.RawURLEncoding.EncodeToString(tap.got)
	if len(pass) < 16 || strings.Contains(all, pass[:16]) || strings.Contains(all, string(tap.got)) {
		t.Errorf("the drive's passphrase (%d random bytes read) leaked into the output or logs, or was never drawn", len(tap.got))
	}
}

// The console's drive screens (make demo) reach Ceph the same way: with an
// empty config, Prepare of a LUKS2 drive dials Ceph by convention.
func TestLabConsoleReachesCephByConvention(t *testing.T) {
	r := newCephRig(t)
	conf, _, _ := ceph.HostLocator().Conf("", r.env.CephUser)
	if k, looked, _ := ceph.HostLocator().Keyring(r.env.CephUser, conf); k == "" {
		lab.Unavailable(t, "no keyring for client.%s where librados looks (lab/up installs one in /etc/ceph when nothing is there): %v", r.env.CephUser, looked)
	}
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	e := testEnv(t, env.Flags{})
	connect := e.Connector.Conn
	b := driveBackend{uri: r.env.URI, connect: connect, own: e.OwnDial, env: e}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	defer func() {
		if c, err := connect(ctx, r.env.URI); err == nil {
			c.Close()
		}
	}()
	name := fmt.Sprintf("TestLabConsoleReachesCephByConvention-%08x", rand.Uint32())
	if _, err := b.Prepare(ctx, model.DriveSpec{Host: r.env.URI, Pool: r.env.RBDPool, Name: name, Size: 64 << 20,
		Encryption: model.EncryptLUKS2}); err != nil {
		t.Fatalf("console Prepare of a LUKS2 drive with no Ceph configured: %v", err)
	}
}
