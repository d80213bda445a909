package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/iscsi"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/plan"
)

// newResizeTarget makes a tgt target of its own for the resize tests, on
// the first free tid of 150-159 (this suite's range), with one LUN of
// size bytes backed by a file under labDir/t-rs-/ ($STOWAGE_LAB_DIR);
// Cleanup removes both.
func newResizeTarget(t *testing.T, labDir, iqn string, size int64) *tgtTarget {
	t.Helper()
	dir := filepath.Join(labDir, "t-rs-")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return newTgtTargetIn(t, 150, 160, iqn, size, filepath.Join(dir, filepath.Base(iqn)+"-lun1.img"))
}

// A logical volume on LVM over iSCSI, on the nested hypervisor: libvirt's
// logical backend has no resize (no lvresize), so `stowage drive resize`
// refuses before touching anything, names the admin's way (lvextend, then
// pool-refresh and blockresize), audits the refusal, and the LV keeps its
// size.
func TestNestedDriveResizeLogical(t *testing.T) {
	n := lab.NeedNested(t)
	ctx := context.Background()
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	c, err := libvirtx.Dial(ctx, n.URI, libvirtx.Options{Timeout: 3 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	stamp := time.Now().UnixNano() % 1e9
	pool, vg := fmt.Sprintf("t-rs-lv-%d", stamp), fmt.Sprintf("t_rs_lv%d", stamp)
	iqn := "iqn.2026-11.lab.stowage:" + pool
	newResizeTarget(t, n.Env.Dir, iqn, 128<<20)
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
	base := []string{"--uri", n.URI, "--pool", pool, "--name", "lv1", "--timeout", "3m"}
	if r := driveCLI(nil, append([]string{"create"}, append(base, "--size", "16M", "--encryption", "none")...)...); r.rc != 0 {
		t.Fatalf("create: %d %s", r.rc, r.stderr)
	}
	t.Cleanup(func() { _ = c.DeleteVolume(context.Background(), pool, "lv1") })
	// lv_size and the virtual size (a sparse LV's) as LVM reports them.
	lvsNow := func() string {
		t.Helper()
		out, err := onNested(t, n, "lvs --noheadings --units b -o lv_size,lv_metadata_size,origin_size "+vg+"/lv1")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	before := lvsNow()
	var out, errb strings.Builder
	if rc := cmdDriveResize(append(base, "--size", "+8M", "--json"), &out, &errb); rc != 1 ||
		!strings.Contains(errb.String(), "logical backend cannot resize") || !strings.Contains(errb.String(), "lvextend -L +SIZE") {
		t.Errorf("resize of an LV: rc %d, stderr %q; want 1 and the refusal naming lvextend", rc, errb.String())
	}
	var got struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(out.String()), &got); err != nil || !strings.Contains(got.Error, "lvextend") {
		t.Errorf("JSON %q (%v): want the refusal in error", out.String(), err)
	}
	if after := lvsNow(); after != before {
		t.Errorf("lvs says %q after the refusal, was %q", after, before)
	}
	if v, err := c.Volume(ctx, pool, "lv1"); err != nil || v.Capacity != 16<<20 {
		t.Errorf("libvirt reports %d (%v) after the refusal, want %d", v.Capacity, err, 16<<20)
	}
	audit, err := os.ReadFile(filepath.Join(state, "stowage", "audit.jsonl"))
	if err != nil || !strings.Contains(string(audit), `"resize drive","object":"`+pool+`/lv1","result":"refused"`) {
		t.Errorf("audit log lacks the refusal (%v):\n%s", err, audit)
	}
}
