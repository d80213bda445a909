package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
)

// paTarget is this test file's own tgtd target (tids 120-129) with LUNs
// backed by files under $STOWAGE_LAB_DIR/t-pa-/; removed in cleanup.
func paTarget(t *testing.T, env lab.Env, iqn string, luns int) {
	t.Helper()
	dir := filepath.Join(env.Dir, "t-pa-")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	tid := ""
	for id := 120; id <= 129 && tid == ""; id++ {
		if _, err := tgtadm("--mode", "target", "--op", "new", "--tid", strconv.Itoa(id), "--targetname", iqn); err == nil {
			tid = strconv.Itoa(id)
		}
	}
	if tid == "" {
		t.Fatal("tgtd: tids 120-129 are all taken")
	}
	t.Cleanup(func() {
		if out, err := tgtadm("--mode", "target", "--op", "delete", "--force", "--tid", tid); err != nil {
			t.Errorf("delete target %s: %v: %s", tid, err, out)
		}
	})
	for lun := 1; lun <= luns; lun++ {
		f := filepath.Join(dir, fmt.Sprintf("%s-lun%d.img", strings.ReplaceAll(iqn, ":", "_"), lun))
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(f) })
		if err := os.Truncate(f, 64<<20); err != nil {
			t.Fatal(err)
		}
		if err := tgtRun("--mode", "logicalunit", "--op", "new", "--tid", tid, "--lun", strconv.Itoa(lun), "--backing-store", f); err != nil {
			t.Fatal(err)
		}
	}
	if err := tgtRun("--mode", "target", "--op", "bind", "--tid", tid, "--initiator-address", "ALL"); err != nil {
		t.Fatal(err)
	}
}

// nestedDefinePool defines a pool from doc on the nested host, with
// virsh there; the cleanup stops and undefines whatever pool has that
// name then.
func nestedDefinePool(t *testing.T, n lab.Nested, name, doc string) {
	t.Helper()
	t.Cleanup(func() {
		_, _ = paVirsh(t, n.URI, "pool-destroy", name)
		_, _ = paVirsh(t, n.URI, "pool-undefine", name)
	})
	f := "/tmp/" + name + ".xml"
	if _, err := onNested(t, n, "cat > "+f+" <<'EOF'\n"+doc+"\nEOF\nvirsh -q pool-define "+f+"; rc=$?; rm -f "+f+"; exit $rc"); err != nil {
		t.Fatal(err)
	}
}

func nestedVirsh(t *testing.T, n lab.Nested, args ...string) string {
	t.Helper()
	out, err := paVirsh(t, n.URI, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNestedPoolActionsISCSIAndLogical runs the pool actions on the
// nested hypervisor: an iscsi pool on a target of this test's own (start
// logs in, refresh, autostart; build and delete refused with why; stop
// logs out; undefine), and a logical pool on its two LUNs (build with
// pvcreate/vgcreate, overwrite refused without --confirm then done with
// it, start, refresh, autostart; delete refused while an LV is there,
// with the VG unchanged; delete after the LV went: vgremove and pvremove;
// undefine).
func TestNestedPoolActionsISCSIAndLogical(t *testing.T) {
	n := lab.NeedNested(t)
	paNested = &n
	t.Cleanup(func() { paNested = nil })
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	uri := n.URI
	stamp := time.Now().UnixNano() % 1e9
	iqn := fmt.Sprintf("iqn.2026-11.lab.stowage:t-pa-%d", stamp)
	iscsiPool, lvmPool, vg := fmt.Sprintf("t-pa-iscsi-%d", stamp), fmt.Sprintf("t-pa-lvm-%d", stamp), fmt.Sprintf("t_pa_vg%d", stamp)
	paTarget(t, n.Env, iqn, 2)
	// After the pools' cleanups (registered later, run first): the VG and
	// the session, if a failed run left them, then open-iscsi's record.
	t.Cleanup(func() {
		cmd := fmt.Sprintf("vgremove -f %s >/dev/null 2>&1; iscsiadm --mode node --targetname %s --logout >/dev/null 2>&1; iscsiadm --mode node --op delete --targetname %s >/dev/null 2>&1; true", vg, iqn, iqn)
		if _, err := onNested(t, n, cmd); err != nil {
			t.Error(err)
		}
	})
	host, port, _ := strings.Cut(n.Portal, ":")
	p, _ := strconv.Atoi(port)
	doc, err := libvirtx.ISCSIPoolXML(model.ISCSIPoolSpec{Name: iscsiPool, Host: host, Port: p, Target: iqn})
	if err != nil {
		t.Fatal(err)
	}
	nestedDefinePool(t, n, iscsiPool, doc)
	slow := []string{"--timeout", "3m"}

	okCmd(t, uri, iscsiPool, "start", true, slow...)
	okCmd(t, uri, iscsiPool, "start", false, slow...)
	okCmd(t, uri, iscsiPool, "refresh", true, slow...)
	okCmd(t, uri, iscsiPool, "autostart", true, slow...)
	okCmd(t, uri, iscsiPool, "autostart", true, append(slow, "--off")...)
	refusedCmd(t, uri, iscsiPool, "", "build", slow, "nothing to build", "the LUNs come from the SAN")
	refusedCmd(t, uri, iscsiPool, "", "delete", append(slow, "--confirm", iscsiPool), "no delete for iscsi pools", "undefine")

	var devs []string
	for _, l := range strings.Split(nestedVirsh(t, n, "vol-list", iscsiPool), "\n") {
		if f := strings.Fields(l); len(f) == 2 && strings.Contains(f[1], iqn) {
			devs = append(devs, f[1])
		}
	}
	if len(devs) != 2 {
		t.Fatalf("iscsi pool %s: want 2 LUNs, got %q", iscsiPool, devs)
	}
	// libvirt starts a logical pool only when its <device> paths are the
	// names pvs prints (/dev/sdX, see iscsi/buildvg.go), and its delete
	// runs pvremove on those paths: name the LUNs so.
	for i, d := range devs {
		out, err := onNested(t, n, "readlink -f "+d)
		if err != nil {
			t.Fatal(err)
		}
		devs[i] = strings.TrimSpace(out)
	}
	ldoc, err := libvirtx.LogicalPoolXML(model.LogicalPoolSpec{Name: lvmPool, VG: vg, Devices: devs})
	if err != nil {
		t.Fatal(err)
	}
	nestedDefinePool(t, n, lvmPool, ldoc)
	vgState := func() string {
		out, err := onNested(t, n, "vgs --noheadings -o vg_name,pv_count,lv_count "+vg+" 2>&1; pvs --noheadings -o pv_name,vg_name 2>/dev/null | grep "+vg+" || true")
		if err != nil && !strings.Contains(out, "not found") {
			t.Fatal(err)
		}
		return out
	}

	okCmd(t, uri, lvmPool, "build", true, slow...)
	if s := vgState(); !strings.Contains(s, vg) || !strings.Contains(strings.Fields(s)[1], "2") {
		t.Fatalf("build: want VG %s on 2 PVs, got %q", vg, s)
	}
	refusedCmd(t, uri, lvmPool, "", "build", append(slow, "--overwrite"), "--confirm "+lvmPool)
	okCmd(t, uri, lvmPool, "build", true, append(slow, "--overwrite", "--confirm", lvmPool)...)
	okCmd(t, uri, lvmPool, "start", true, slow...)
	okCmd(t, uri, lvmPool, "refresh", true, slow...)
	okCmd(t, uri, lvmPool, "autostart", true, slow...)
	okCmd(t, uri, lvmPool, "autostart", true, append(slow, "--off")...)

	nestedVirsh(t, n, "vol-create-as", lvmPool, "t-pa-lv", "8M")
	before := vgState()
	refusedCmd(t, uri, lvmPool, "", "delete", append(slow, "--confirm", lvmPool), "holds 1 volume(s): t-pa-lv", "vgremove -f")
	if after := vgState(); after != before {
		t.Fatalf("delete refused, yet the VG changed:\n%s\n%s", before, after)
	}
	// The iSCSI pool is a SAN under a running logical pool: stopping it
	// is not refused by stowage (no VM disk is on it), so it is left up.
	nestedVirsh(t, n, "vol-delete", "--pool", lvmPool, "t-pa-lv")
	okCmd(t, uri, lvmPool, "delete", true, append(slow, "--confirm", lvmPool)...)
	if out, err := onNested(t, n, "vgs --noheadings -o vg_name 2>/dev/null; true"); err != nil || slices.Contains(strings.Fields(out), vg) {
		t.Fatalf("delete: VG %s remains: %q %v", vg, out, err)
	}
	if out, err := onNested(t, n, "pvs --noheadings -o pv_name 2>/dev/null; true"); err != nil || strings.Contains(out, devs[0]+"\n") || strings.Contains(out, devs[1]+"\n") {
		t.Fatalf("delete: pvremove left a PV on the LUNs: %q %v", out, err)
	}
	okCmd(t, uri, lvmPool, "undefine", true, append(slow, "--confirm", lvmPool)...)

	okCmd(t, uri, iscsiPool, "stop", true, append(slow, "--confirm", iscsiPool)...)
	if out, _ := onNested(t, n, "iscsiadm --mode session 2>&1; true"); strings.Contains(out, iqn) {
		t.Fatalf("stop: the iscsi session stays: %s", out)
	}
	okCmd(t, uri, iscsiPool, "undefine", true, append(slow, "--confirm", iscsiPool)...)
	if _, err := paVirsh(t, uri, "pool-info", iscsiPool); err == nil {
		t.Fatal("undefine: the iscsi pool is still defined")
	}
}
