//go:build !noceph

package ceph_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

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
func TestLabRestrictedClient(t *testing.T) {
	env := lab.Need(t)
	cl, err := ceph.Connect(context.Background(), ceph.Config{ConfFile: env.CephConf, User: env.CephUser, Keyring: env.CephKeyring, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.CreateImage(".mgr", "not-allowed", 1<<20); err == nil {
		_ = cl.RemoveImage(".mgr", "not-allowed")
		t.Error("client.libvirt created an image outside its pool")
	}
}

func TestConnectBadKeyring(t *testing.T) {
	env := lab.Need(t)
	_, err := ceph.Connect(context.Background(), ceph.Config{ConfFile: env.CephConf, User: env.CephUser, Keyring: "/nonexistent/keyring", Timeout: 5 * time.Second})
	if err == nil {
		t.Fatal("connect with a missing keyring succeeded")
	}
}
