package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"stowage/iscsi"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/plan"
)

// TestNestedDriveTransferLogical: a logical volume on the nested
// hypervisor (LVM on a LUN of a target of this test's own, tid 170-179),
// reached over qemu+ssh: upload a random file, download it (the same
// bytes), wipe with zeros (the download reads zeros); trim is refused
// there (libvirt's logical backend does not trim).
func TestNestedDriveTransferLogical(t *testing.T) {
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
	id := fmt.Sprintf("t-tx-lv-%d", stamp)
	pool, vg := id, fmt.Sprintf("t_tx_lv%d", stamp)
	iqn := "iqn.2026-11.lab.stowage:" + id
	dir := filepath.Join(n.Dir, "t-tx-")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	newTxTarget(t, iqn, 96<<20, filepath.Join(dir, id+"-lun1.img"))

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
	// Small: the LV sits on a LUN reached over QEMU's user network from a
	// TCG guest, where libvirtd writes a few hundred KiB/s.
	const size = 4 << 20
	name := "t-tx-lv"
	// Fully allocated: libvirt makes an LV whose allocation is below its
	// capacity (stowage's CreateVolume asks none) as a sparse snapshot of a
	// virtual origin, which an upload of its whole size overflows and
	// invalidates (seen here: libvirt then lists it no more).
	if _, err := onNested(t, n, fmt.Sprintf("virsh -q vol-create-as %s %s %d --allocation %d", pool, name, size, size)); err != nil {
		t.Fatal(err)
	}
	if err := c.RefreshPool(ctx, pool); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteVolume(context.Background(), pool, name) })
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "in.bin")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	drv := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := runDrive(append([]string{args[0], "--uri", n.URI, "--timeout", "3m", "--pool", pool, "--name", name}, args[1:]...), &out, &errb)
		return code, errb.String()
	}
	if code, e := drv("upload", "--file", in, "--confirm", name); code != 0 {
		t.Fatalf("upload: %d\n%s", code, e)
	}

	out := filepath.Join(t.TempDir(), "out.bin")
	code, e := drv("download", "--file", out)
	if code != 0 {
		t.Fatalf("download: %d\n%s", code, e)
	}
	t.Logf("download over qemu+ssh:\n%s", e)
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Fatal("downloaded bytes differ from the uploaded file")
	}
	if code, e := drv("wipe", "--algorithm", "trim", "--confirm", name); code != 1 || !strings.Contains(e, "does not trim") {
		t.Errorf("trim on a logical pool: %d %q", code, e)
	}
	if code, e := drv("wipe", "--confirm", name); code != 0 {
		t.Fatalf("wipe: %d\n%s", code, e)
	}
	zeros := filepath.Join(t.TempDir(), "zeros.bin")
	if code, e := drv("download", "--file", zeros); code != 0 {
		t.Fatalf("download after wipe: %d\n%s", code, e)
	}
	if got, _ := os.ReadFile(zeros); len(got) != size || !bytes.Equal(got, make([]byte, size)) {
		t.Errorf("after a zero wipe the LV does not read as %d zero bytes (got %d)", size, len(got))
	}
}

// newTxTarget makes target iqn on the lab's tgtd with one LUN per file, on
// a free tid of this test family's range (170-179); removed with the test.
func newTxTarget(t *testing.T, iqn string, size int64, files ...string) *tgtTarget {
	t.Helper()
	for _, f := range files {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(f) })
		if err := os.Truncate(f, size); err != nil {
			t.Fatal(err)
		}
	}
	for tid := 170; tid <= 179; tid++ {
		tg := &tgtTarget{tid: strconv.Itoa(tid), iqn: iqn, files: files}
		if tgtRun("--mode", "target", "--op", "new", "--tid", tg.tid, "--targetname", iqn) != nil {
			continue
		}
		t.Cleanup(func() { tg.delete(t) })
		for i := range files {
			tg.addLUN(t, i+1)
		}
		if err := tgtRun("--mode", "target", "--op", "bind", "--tid", tg.tid, "--initiator-address", "ALL"); err != nil {
			t.Fatal(err)
		}
		return tg
	}
	t.Fatal("tgtd has no free tid in 170-179")
	return nil
}
