package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/drive"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
)

// TestLabPoolBeyondListLimit: a dir pool of VolumeListMax+40 files, more
// than libvirt's RPC lists. virsh vol-list fails on it; stowage shows the
// VolumeListMax volumes it can name, each read in full, counts the rest,
// exits 1 with the reason, and still checks a new drive's name exactly.
func TestLabPoolBeyondListLimit(t *testing.T) {
	env := lab.Need(t)
	const extra = 40
	dir, err := os.MkdirTemp("/var/tmp", "t-browse-limit-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for i := range model.VolumeListMax + extra {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("b%05d.raw", i)), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pool := fmt.Sprintf("t-browse-limit-%d", time.Now().UnixNano())
	mustVirsh(t, env.URI, "pool-create-as", pool, "dir", "--target", dir)
	t.Cleanup(func() { _, _ = virsh(t, env.URI, "pool-destroy", pool) })

	if _, err := virsh(t, env.URI, "vol-list", pool); err == nil || !strings.Contains(err.Error(), "Too many") {
		t.Fatalf("virsh vol-list on %d volumes: %v; the test expects libvirt's list limit", model.VolumeListMax+extra, err)
	}

	var stdout, stderr bytes.Buffer
	if rc := cmdInventory([]string{"--json", "--uri", env.URI}, &stdout, &stderr); rc != 1 {
		t.Errorf("inventory rc %d, want 1 (a pool could not be read in full)", rc)
	}
	if !strings.Contains(stderr.String(), pool) || !strings.Contains(stderr.String(), "REMOTE_STORAGE_VOL_LIST_MAX") ||
		!strings.Contains(stderr.String(), fmt.Sprintf("%d are not", extra)) {
		t.Errorf("stderr does not explain the limit: %q", stderr.String())
	}
	var doc inventoryDoc
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || len(doc.Hosts) != 1 {
		t.Fatalf("stdout: %v", err)
	}
	var got *model.PoolInfo
	for i := range doc.Hosts[0].Pools {
		if doc.Hosts[0].Pools[i].Name == pool {
			got = &doc.Hosts[0].Pools[i]
		}
	}
	if got == nil {
		t.Fatalf("pool %s missing from the inventory", pool)
	}
	if len(got.Volumes) != model.VolumeListMax || got.VolumesNotListed != extra {
		t.Fatalf("%d volumes, %d not listed; want %d and %d", len(got.Volumes), got.VolumesNotListed, model.VolumeListMax, extra)
	}
	listed := map[string]bool{}
	for _, v := range got.Volumes {
		listed[v.Name] = true
		// Handles made from names alone still bring the whole XML.
		if want := filepath.Join(dir, v.Name); v.Key != want || v.Path != want || v.Format != "raw" {
			t.Fatalf("volume %s: key %q path %q format %q; want %s and raw", v.Name, v.Key, v.Path, v.Format, want)
		}
	}
	var unlisted string
	for i := range model.VolumeListMax + extra {
		if n := fmt.Sprintf("b%05d.raw", i); !listed[n] {
			unlisted = n
			break
		}
	}

	ctx := context.Background()
	c, err := libvirtx.Dial(ctx, env.URI, libvirtx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d := drive.Deps{Libvirt: c, Host: env.URI}
	_, err = drive.Prepare(ctx, d, model.DriveSpec{Pool: pool, Name: unlisted, Size: 1 << 20})
	t.Logf("unlisted name refused: %v", err)
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a new drive named like the unlisted volume %s: %v; want it refused as existing", unlisted, err)
	}
	if _, err := drive.Prepare(ctx, d, model.DriveSpec{Pool: pool, Name: "t-browse-new.raw", Size: 1 << 20}); err != nil {
		t.Errorf("a fresh name in the large pool: %v", err)
	}
}
