package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"stowage/drive"
	"stowage/iscsi"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
)

// cloneTgtTarget is a target of this part's own (tid 160-169) with one
// LUN of size bytes under the lab's t-cl- directory, removed at the end.
func cloneTgtTarget(t *testing.T, n lab.Nested, iqn string, size int64) *tgtTarget {
	t.Helper()
	dir := filepath.Join(n.Dir, "t-cl-")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, filepath.Base(strings.ReplaceAll(iqn, ":", "-"))+"-lun1.img")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(f) })
	if err := os.Truncate(f, size); err != nil {
		t.Fatal(err)
	}
	for tid := 160; tid < 170; tid++ {
		tg := &tgtTarget{tid: strconv.Itoa(tid), iqn: iqn, files: []string{f}}
		if tgtRun("--mode", "target", "--op", "new", "--tid", tg.tid, "--targetname", iqn) != nil {
			continue
		}
		t.Cleanup(func() { tg.delete(t) })
		tg.addLUN(t, 1)
		if err := tgtRun("--mode", "target", "--op", "bind", "--tid", tg.tid, "--initiator-address", "ALL"); err != nil {
			t.Fatal(err)
		}
		return tg
	}
	t.Fatal("tgtd has no free tid in 160-169")
	return nil
}

// Clone on a logical pool (LVM on iSCSI) on the nested hypervisor: a
// plain LV copies equal (a whole LV, not libvirt's sparse snapshot LV); a
// QEMU-LUKS LV is refused (libvirt would copy its bytes, key included).
// Everything is torn down.
func TestNestedCloneLogical(t *testing.T) {
	n := lab.NeedNested(t)
	ctx := context.Background()
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	c, err := libvirtx.Dial(ctx, n.URI, libvirtx.Options{Timeout: 3 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	stamp := time.Now().UnixNano() % 1e9
	id := fmt.Sprintf("t-cl-lvm-%d", stamp)
	pool, vg := id, fmt.Sprintf("t_cl_lvm%d", stamp)
	iqn := "iqn.2026-11.lab.stowage:" + id
	cloneTgtTarget(t, n, iqn, 96<<20)
	res, rc, stderr := setupLVMCmd(t, n.URI, n.Portal, iqn, "1", vg, pool)
	t.Cleanup(func() {
		if err := iscsi.Teardown(ctx, c, plan.Runner{}, pool, res.ISCSIPool); err != nil {
			t.Errorf("teardown: %v", err)
		}
		if _, err := onNested(t, n, "iscsiadm --mode node --op delete --targetname "+iqn); err != nil {
			t.Error(err)
		}
	})
	if rc != 0 || !res.OK {
		t.Fatalf("setup-lvm: rc %d, %s\n%s", rc, res.Error, stderr)
	}
	d := drive.Deps{Libvirt: c, Host: n.URI, CreateTimeout: 10 * time.Minute}
	var secrets []string
	t.Cleanup(func() {
		for _, v := range []string{"plain", "plain-copy", "luks", "luks-copy"} {
			_ = c.DeleteVolume(context.Background(), pool, v)
		}
		for _, s := range secrets {
			_ = c.UndefineSecret(context.Background(), s)
		}
	})
	mk := func(name string, enc model.DriveEncryption) drive.Result {
		p, err := drive.Prepare(ctx, d, model.DriveSpec{Host: n.URI, Pool: pool, Name: name, Size: 8 << 20, Encryption: enc})
		if err != nil {
			t.Fatal(err)
		}
		r, err := drive.Create(ctx, d, p, nil)
		if r.SecretUUID != "" {
			secrets = append(secrets, r.SecretUUID)
		}
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cl := func(name, to string) (drive.PreparedClone, drive.Result) {
		p, err := drive.PrepareClone(ctx, d, model.CloneSpec{Pool: pool, Name: name, To: to})
		if err != nil {
			t.Fatal(err)
		}
		r, err := drive.Clone(ctx, d, p, nil)
		if r.SecretUUID != "" {
			secrets = append(secrets, r.SecretUUID)
		}
		if err != nil {
			t.Fatal(err)
		}
		return p, r
	}

	// A QEMU-LUKS LV: libvirt would copy it byte for byte into the new
	// LV (measured: the copy opened with the SOURCE's passphrase while
	// libvirt named the new secret), so stowage refuses, changing nothing.
	luks := mk("luks", model.EncryptLUKS)
	before, err := c.VolumeNames(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drive.PrepareClone(ctx, d, model.CloneSpec{Pool: pool, Name: "luks", To: "luks-copy"}); !errors.Is(err, drive.ErrSharedKey) || !strings.Contains(err.Error(), "byte for byte") {
		t.Errorf("QEMU-LUKS LV clone into the logical pool: %v; want refused as sharing the key", err)
	}
	if after, err := c.VolumeNames(ctx, pool); err != nil || strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("the refusal changed the pool: %v -> %v (%v)", before, after, err)
	}
	if _, ok, _ := c.SecretByVolumeUsage(ctx, strings.TrimSuffix(luks.Path, "luks")+"luks-copy"); ok {
		t.Error("the refusal left a secret")
	}

	plain := mk("plain", model.EncryptNone)
	if out, err := onNested(t, n, "printf 'stowage-clone-pattern' | dd of="+plain.Path+" bs=1M seek=3 conv=notrunc 2>&1"); err != nil {
		t.Fatalf("write to %s: %v %s", plain.Path, err, out)
	}
	_, pc := cl("plain", "plain-copy")
	if out, err := onNested(t, n, "cmp "+plain.Path+" "+pc.Path+" && echo same"); err != nil || !strings.Contains(out, "same") {
		t.Errorf("plain LV clone differs: %v %s", err, out)
	}
}
