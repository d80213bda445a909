package libvirtx_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
)

// ReadVolumeHead through libvirt's stream (vol-download) returns exactly
// a volume's first bytes, again and again, and leaves the caller's
// connection working: the download runs on a connection of its own, so
// go-libvirt's stream deadlock (#241) cannot hang it. (The lab's LUNs sit
// in an iscsi-direct pool, which has no download; the nested tests probe
// real LUNs through an iscsi pool.)
func TestLabReadVolumeHead(t *testing.T) {
	env := lab.Need(t)
	ctx := context.Background()
	c, err := libvirtx.Dial(ctx, env.URI, libvirtx.Options{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	name := fmt.Sprintf("t-head-%d", time.Now().UnixNano())
	if _, err := c.CreateVolume(ctx, env.DirPool, model.VolumeSpec{Name: name, Capacity: 1 << 20, Format: "raw"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteVolume(context.Background(), env.DirPool, name) })
	const n = 128 << 10
	want := bytes.Repeat([]byte("stowage head probe "), n/19+1)[:n]
	src := filepath.Join(t.TempDir(), "head")
	if err := os.WriteFile(src, want, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("virsh", "-c", env.URI, "vol-upload", "--pool", env.DirPool, name, src).CombinedOutput(); err != nil {
		t.Fatalf("vol-upload: %v: %s", err, out)
	}
	for i := range 10 {
		got, err := c.ReadVolumeHead(ctx, env.DirPool, name, n)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("read %d: %d bytes, not the volume's first %d", i, len(got), n)
		}
	}
	// A volume shorter than asked gives what it has.
	got, err := c.ReadVolumeHead(ctx, env.DirPool, name, 2<<20)
	if err != nil || len(got) != 1<<20 || !bytes.Equal(got[:n], want) {
		t.Fatalf("read past the end: %d bytes, %v; want the whole 1 MiB volume", len(got), err)
	}
	if _, err := c.Pools(ctx); err != nil {
		t.Fatalf("the caller's connection after the downloads: %v", err)
	}
}
