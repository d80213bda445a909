//go:build !noceph

package ceph_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"

	"stowage/ceph"
	"stowage/lab"
)

func TestLabRBDImageLifecycle(t *testing.T) {
	env := lab.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := ceph.Connect(ctx, ceph.Config{ConfFile: env.CephConf, User: env.CephUser, Keyring: env.CephKeyring})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close) // registered first, so it runs after the image cleanup
	name := fmt.Sprintf("smoke-%d", time.Now().UnixNano())
	if err := cl.CreateImage(env.CephPool, name, 8<<20); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.RemoveImage(env.CephPool, name) })
	if size, err := cl.ImageSize(env.CephPool, name); err != nil || size != 8<<20 {
		t.Errorf("image size = %d, %v; want 8 MiB", size, err)
	}
	names, err := cl.ImageNames(env.CephPool)
	if err != nil || !slices.Contains(names, name) {
		t.Fatalf("new image %s not listed: %v %v", name, names, err)
	}
	if err := cl.CreateImage(env.CephPool, name, 8<<20); err == nil {
		t.Error("creating the same image twice succeeded")
	}
	if err := cl.RemoveImage(env.CephPool, name); err != nil {
		t.Fatal(err)
	}
	names, err = cl.ImageNames(env.CephPool)
	if err != nil || slices.Contains(names, name) {
		t.Errorf("removed image %s still listed: %v %v", name, names, err)
	}
}

// The restricted client must not be able to touch another pool: proof that
// the lab's client.libvirt is really "profile rbd pool=…" and not admin.
// The other pool exists and admin can create an image in it, so the
// refusal can only be client.libvirt's missing caps: EPERM from the OSD.
func TestLabRestrictedClient(t *testing.T) {
	env := lab.Need(t)
	other := fmt.Sprintf("TestLabRestrictedClient-%d", time.Now().UnixNano())
	admin := labAdmin(t, env)
	if err := makeRBDPool(admin, other); err != nil {
		t.Fatalf("create pool %s as client.admin: %v", other, err)
	}
	t.Cleanup(func() {
		if err := admin.DeletePool(other); err != nil {
			t.Errorf("delete pool %s: %v", other, err)
		}
	})
	// The control: the pool takes images from a client with caps on it.
	adminIO, err := admin.OpenIOContext(other)
	if err != nil {
		t.Fatal(err)
	}
	defer adminIO.Destroy()
	if err := rbd.CreateImage(adminIO, "control", 1<<20, rbd.NewRbdImageOptions()); err != nil {
		t.Fatalf("client.admin cannot create an image in %s either, so the test proves nothing: %v", other, err)
	}

	cl, err := ceph.Connect(context.Background(), ceph.Config{ConfFile: env.CephConf, User: env.CephUser, Keyring: env.CephKeyring, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	err = cl.CreateImage(other, "not-allowed", 1<<20)
	if err == nil {
		t.Fatalf("client.%s created an image in %s, a pool it has no caps on", env.CephUser, other)
	}
	var coded interface{ ErrorCode() int }
	if !errors.As(err, &coded) || coded.ErrorCode() != -int(syscall.EPERM) {
		t.Errorf("client.%s creating an image in %s: %v; want EPERM (Operation not permitted)", env.CephUser, other, err)
	}
	t.Logf("refused as it should be: %v", err)
	if !strings.Contains(err.Error(), other) {
		t.Errorf("error %q does not name the pool %s", err, other)
	}
	if names, err := rbd.GetImageNames(adminIO); err != nil || slices.Contains(names, "not-allowed") {
		t.Errorf("images in %s after the refusal: %v, %v", other, names, err)
	}
}

// labAdmin connects as the lab's client.admin (go-ceph directly: stowage
// never needs admin, only this test's setup does).
func labAdmin(t *testing.T, env lab.Env) *rados.Conn {
	t.Helper()
	conn, err := rados.NewConnWithUser("admin")
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.ReadConfigFile(env.CephConf); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"keyring":              filepath.Join(filepath.Dir(env.CephConf), "client.admin.keyring"),
		"client_mount_timeout": "20", "rados_mon_op_timeout": "30", "rados_osd_op_timeout": "30",
	} {
		if err := conn.SetConfigOption(k, v); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
	}
	if err := conn.Connect(); err != nil {
		t.Fatalf("connect as client.admin: %v", err)
	}
	t.Cleanup(conn.Shutdown)
	return conn
}

// makeRBDPool creates a one-PG pool tagged and initialised for RBD.
func makeRBDPool(conn *rados.Conn, name string) error {
	for _, cmd := range []map[string]any{
		{"prefix": "osd pool create", "pool": name, "pg_num": 1, "pgp_num": 1},
		{"prefix": "osd pool application enable", "pool": name, "app": "rbd"},
	} {
		b, _ := json.Marshal(cmd)
		if _, info, err := conn.MonCommand(b); err != nil {
			return fmt.Errorf("%s: %w (%s)", cmd["prefix"], err, info)
		}
	}
	io, err := conn.OpenIOContext(name)
	if err != nil {
		return err
	}
	defer io.Destroy()
	return rbd.PoolInit(io, false)
}

func TestConnectBadKeyring(t *testing.T) {
	env := lab.Need(t)
	_, err := ceph.Connect(context.Background(), ceph.Config{ConfFile: env.CephConf, User: env.CephUser, Keyring: "/nonexistent/keyring", Timeout: 5 * time.Second})
	if err == nil {
		t.Fatal("connect with a missing keyring succeeded")
	}
}
