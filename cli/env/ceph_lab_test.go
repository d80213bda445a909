//go:build !noceph

package env

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/ceph"
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

// emptyHost is a Locator over an empty root: no ceph.conf, no keyring.
func emptyHost(t *testing.T) (ceph.Locator, string) {
	root := t.TempDir()
	return ceph.Locator{Root: root, Getenv: func(k string) string { return map[string]string{"HOME": "/root"}[k] }, Dir: "/"}, root
}

// put writes a file under a fake root, mode 0600 like a keyring.
func put(t *testing.T, root, path string, content []byte) {
	t.Helper()
	p := filepath.Join(root, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (r *cephRig) keyring() []byte {
	return []byte("[client." + r.env.CephUser + "]\n\tkey = " + string(r.key) + "\n")
}

// dialAndUse dials as the CLI does and proves the connection by creating
// and removing an image in the pool.
func (r *cephRig) dialAndUse(t *testing.T, p model.Pool, given cephAccess, loc ceph.Locator, logBuf *bytes.Buffer) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := dialCeph(ctx, r.conn, p, given, loc, slog.New(slog.NewTextHandler(logBuf, nil)))
	if err != nil {
		return err
	}
	defer cl.Close()
	name := fmt.Sprintf("%s-%08x", strings.ReplaceAll(t.Name(), "/", "-"), rand.Uint32())
	if err := cl.CreateImage(r.env.CephPool, name, 1<<20); err != nil {
		return err
	}
	id, err := cl.ImageID(r.env.CephPool, name)
	if err != nil {
		return err
	}
	return cl.RemoveImageIfID(r.env.CephPool, name, id)
}

func (r *cephRig) noKeyIn(t *testing.T, what, s string) {
	t.Helper()
	raw, _ := base64.StdEncoding.DecodeString(string(r.key))
	defer clear(raw)
	if strings.Contains(s, string(r.key)) || (len(raw) > 0 && strings.Contains(s, string(raw))) {
		t.Errorf("%s contains the cephx key", what)
	}
}

// dialCeph, branch by branch, against the lab's cluster and libvirtd.
func TestLabDialCeph(t *testing.T) {
	r := newCephRig(t)

	t.Run("given keyring", func(t *testing.T) {
		// A wrong keyring where the convention looks must not matter.
		loc, root := emptyHost(t)
		put(t, root, "/etc/ceph/ceph.client."+r.env.CephUser+".keyring",
			[]byte("[client."+r.env.CephUser+"]\n\tkey = AQBv0mVnAAAAABAAu7pGM+q4i4p6o9bS2lYpqA==\n"))
		var logBuf bytes.Buffer
		if err := r.dialAndUse(t, r.pool, cephAccess{conf: r.env.CephConf, keyring: r.env.CephKeyring}, loc, &logBuf); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logBuf.String(), "keyring "+r.env.CephKeyring) {
			t.Errorf("log does not say the given keyring was used:\n%s", logBuf.String())
		}
		r.noKeyIn(t, "the log", logBuf.String())
	})

	t.Run("convention", func(t *testing.T) {
		// /etc/ceph/ceph.conf and /etc/ceph/ceph.client.USER.keyring, as
		// lab/up installs them, under a root of the test's own; the pool's
		// secret is private, so only the keyring can serve.
		loc, root := emptyHost(t)
		put(t, root, "/etc/ceph/ceph.conf", []byte("[global]\nmon host = v2:127.0.0.1:3300,v1:127.0.0.1:6789\n"))
		put(t, root, "/etc/ceph/ceph.client."+r.env.CephUser+".keyring", r.keyring())
		var logBuf bytes.Buffer
		if err := r.dialAndUse(t, r.pool, cephAccess{}, loc, &logBuf); err != nil {
			t.Fatal(err)
		}
		want := "keyring " + filepath.Join(root, "/etc/ceph/ceph.client."+r.env.CephUser+".keyring")
		if !strings.Contains(logBuf.String(), want) || !strings.Contains(logBuf.String(), "conf="+filepath.Join(root, "/etc/ceph/ceph.conf")) {
			t.Errorf("log does not name the conventional files (%s):\n%s", want, logBuf.String())
		}
		r.noKeyIn(t, "the log", logBuf.String())
	})

	t.Run("CEPH_CONF and the conf's keyring option", func(t *testing.T) {
		loc, root := emptyHost(t)
		loc.Getenv = func(k string) string {
			return map[string]string{"HOME": "/root", "CEPH_CONF": "/opt/lab/$cluster.conf"}[k]
		}
		// /etc/ceph/ceph.conf names no keyring: were CEPH_CONF not honoured
		// (alone), no keyring would be found.
		put(t, root, "/etc/ceph/ceph.conf", []byte("[global]\nmon host = 192.0.2.1\n"))
		put(t, root, "/opt/lab/ceph.conf", []byte("[client."+r.env.CephUser+"]\nkeyring = /opt/lab/keys/$name\n"))
		put(t, root, "/opt/lab/keys/client."+r.env.CephUser, r.keyring())
		var logBuf bytes.Buffer
		if err := r.dialAndUse(t, r.pool, cephAccess{}, loc, &logBuf); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logBuf.String(), "keyring "+filepath.Join(root, "/opt/lab/keys/client."+r.env.CephUser)) {
			t.Errorf("log does not name the conf's keyring:\n%s", logBuf.String())
		}
	})

	t.Run("non-private libvirt secret", func(t *testing.T) {
		uuid := defineReadableSecret(t, r)
		p := r.pool
		p.AuthSecretUUID = uuid
		loc, _ := emptyHost(t)
		var logBuf bytes.Buffer
		if err := r.dialAndUse(t, p, cephAccess{}, loc, &logBuf); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logBuf.String(), "libvirt secret "+uuid) {
			t.Errorf("log does not say the key came from secret %s:\n%s", uuid, logBuf.String())
		}
		r.noKeyIn(t, "the log", logBuf.String())
	})

	t.Run("private secret and no keyring", func(t *testing.T) {
		loc, root := emptyHost(t)
		var logBuf bytes.Buffer
		err := r.dialAndUse(t, r.pool, cephAccess{}, loc, &logBuf)
		if err == nil {
			t.Fatal("connected with no keyring and a private secret")
		}
		msg := err.Error()
		for _, want := range []string{
			"libvirt secret " + r.pool.AuthSecretUUID + ", which is private",
			"CEPH_CONF: not set",
			"ceph.conf " + filepath.Join(root, "/etc/ceph/ceph.conf") + ": not found",
			"keyring " + filepath.Join(root, "/etc/ceph/ceph.client."+r.env.CephUser+".keyring") + ": not found",
			"keyring " + filepath.Join(root, "/etc/ceph/keyring.bin") + ": not found",
			"ceph auth get client." + r.env.CephUser, "--ceph-keyring",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("error lacks %q:\n%s", want, msg)
			}
		}
		r.noKeyIn(t, "the error", msg)
	})
}

// defineReadableSecret defines a non-private ceph secret holding the lab
// user's key (through a 0600 file, never argv) and removes it afterwards.
func defineReadableSecret(t *testing.T, r *cephRig) string {
	t.Helper()
	dir := t.TempDir()
	usage := fmt.Sprintf("%s-%08x client.%s", strings.ReplaceAll(t.Name(), "/", "-"), rand.Uint32(), r.env.CephUser)
	var u [16]byte
	crand.Read(u[:])
	u[6], u[8] = u[6]&0x0f|0x40, u[8]&0x3f|0x80
	uuid := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	xml := filepath.Join(dir, "secret.xml")
	put(t, dir, "secret.xml", []byte("<secret ephemeral='no' private='no'><uuid>"+uuid+"</uuid>"+
		"<description>stowage test: readable cephx key</description>"+
		"<usage type='ceph'><name>"+usage+"</name></usage></secret>"))
	if out, err := exec.Command("virsh", "-q", "-c", r.env.URI, "secret-define", xml).CombinedOutput(); err != nil {
		t.Fatalf("virsh secret-define: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("virsh", "-q", "-c", r.env.URI, "secret-undefine", uuid).CombinedOutput(); err != nil {
			t.Errorf("virsh secret-undefine %s: %v: %s", uuid, err, out)
		}
	})
	put(t, dir, "key", r.key)
	if out, err := exec.Command("virsh", "-q", "-c", r.env.URI, "secret-set-value", "--secret", uuid, "--file", filepath.Join(dir, "key")).CombinedOutput(); err != nil {
		t.Fatalf("virsh secret-set-value: %v: %s", err, out)
	}
	return uuid
}
