package cli

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/iscsi"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
)

// onNested runs a shell command on the nested hypervisor over ssh, as an
// admin logged in there would.
func onNested(t *testing.T, n lab.Nested, command string) (string, error) {
	t.Helper()
	u, err := url.Parse(n.URI)
	if err != nil {
		return "", err
	}
	q := u.Query()
	out, err := exec.Command("ssh", "-i", q.Get("keyfile"), "-p", u.Port(), "-o", "UserKnownHostsFile="+q.Get("known_hosts"),
		"-o", "BatchMode=yes", u.User.Username()+"@"+u.Hostname(), command).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s on the nested host: %v: %s", command, err, out)
	}
	return string(out), nil
}

// TestNestedDoctorMissingPV builds a VG on two LUNs of a temporary target
// with `stowage iscsi setup-lvm` on the nested hypervisor, sees stowage
// doctor find nothing wrong with it, then deletes one LUN on the SAN as
// its admin would: stowage doctor reports the logical pool's VG missing a
// PV (critical), with libvirt's pvs listing as evidence; --readonly says
// it could not check. The LUN comes back, the host's admin runs the
// rescan the fix names, and the finding is gone. Everything is torn down.
func TestNestedDoctorMissingPV(t *testing.T) {
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
	id := fmt.Sprintf("t-doc-pv-%d", stamp)
	pool, vg := id, fmt.Sprintf("t_doc_pv%d", stamp)
	iqn := "iqn.2026-11.lab.stowage:" + id
	tg := newTgtTarget(t, iqn, 64<<20, filepath.Join("/var/tmp", id+"-lun1.img"), filepath.Join("/var/tmp", id+"-lun2.img"))

	res, rc, stderr := setupLVMCmd(t, n.URI, n.Portal, iqn, "1,2", vg, pool)
	t.Cleanup(func() {
		// The teardown removes the VG (pvremove on both LUNs), the pools,
		// and logs out; the target goes after it (registered earlier).
		if err := iscsi.Teardown(ctx, c, plan.Runner{}, pool, res.ISCSIPool); err != nil {
			t.Errorf("teardown: %v", err)
		}
		if left, _ := onNested(t, n, "iscsiadm --mode session 2>&1; vgs --noheadings -o vg_name 2>&1"); strings.Contains(left, iqn) || strings.Contains(left, vg) {
			t.Errorf("the nested host keeps a session or the VG after the teardown:\n%s", left)
		}
		// The login left open-iscsi's node record of the temporary target
		// (the logout keeps it); the target is gone, so is its record.
		if _, err := onNested(t, n, "iscsiadm --mode node --op delete --targetname "+iqn); err != nil {
			t.Error(err)
		}
	})
	// Runs before the teardown: a test that stopped half-way gives the
	// teardown its PV back.
	t.Cleanup(func() { restorePV(t, n, tg) })
	if rc != 0 || !res.OK {
		t.Fatalf("setup-lvm: rc %d, %s\n%s", rc, res.Error, stderr)
	}

	// The nested host runs under TCG: give each call room.
	diagnose := func(args ...string) *model.Finding {
		t.Helper()
		r := doctorRun(append([]string{"--uri", n.URI, "--timeout", "3m", "--json"}, append(args, pool)...)...)
		fs := r.findings(t)
		for i := range fs {
			if fs[i].Concerns(pool) && strings.HasPrefix(fs[i].Check, "pool.pv-") {
				return &fs[i]
			}
		}
		return nil
	}
	// waitFinding diagnoses until the finding is (want) or is not there:
	// LVM notices a device's loss or return when it next reads it, which
	// the doctor's own listing does; the bound only stops a broken run.
	waitFinding := func(want bool, args ...string) *model.Finding {
		t.Helper()
		deadline := time.Now().Add(5 * time.Minute)
		for {
			f := diagnose(args...)
			if (f != nil && f.Check == "pool.pv-missing") == want || time.Now().After(deadline) {
				return f
			}
		}
	}
	if f := diagnose(); f != nil {
		t.Fatalf("whole VG: want no PV finding, got %+v", *f)
	}

	tg.deleteLUN(t, 2)

	f := waitFinding(true)
	if f == nil || f.Check != "pool.pv-missing" || f.Severity != model.SeverityCritical {
		t.Fatalf("LUN 2 deleted on the SAN: want critical pool.pv-missing, got %+v", f)
	}
	t.Logf("finding: %s\nevidence: %s\nfix: %s", f.Message, f.Evidence, f.Fix)
	for _, want := range []string{vg, "missing 1 of its 2 physical volumes", "refuses to activate"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message lacks %q: %s", want, f.Message)
		}
	}
	if !strings.Contains(f.Evidence, "virConnectFindStoragePoolSources(logical)") || !strings.Contains(f.Evidence, model.MissingPV) {
		t.Errorf("evidence: %s", f.Evidence)
	}
	if !strings.Contains(f.Fix, "pvscan --cache && vgchange -ay "+vg) {
		t.Errorf("fix: %s", f.Fix)
	}
	if ro := diagnose("--readonly"); ro == nil || ro.Check != "pool.pv-unprobed" || !strings.Contains(ro.Evidence, "read only access prevents") {
		t.Errorf("--readonly: want info pool.pv-unprobed naming the refusal, got %+v", ro)
	}

	restorePV(t, n, tg)
	if f := waitFinding(false); f != nil {
		t.Fatalf("LUN back and rescanned: want no PV finding, got %+v", *f)
	}

	// The host's admin logs out of the session under the kernel iscsi
	// pool: its LUNs' devices go, and with them the whole VG.
	portal := strings.Replace(n.Portal, ":", ",", 1)
	logout := "iscsiadm --mode node --targetname " + iqn + " --portal " + portal + " --logout"
	if _, err := onNested(t, n, logout); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relogin(t, n, iqn, portal) })
	var sess, pv *model.Finding
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); {
		r := doctorRun("--uri", n.URI, "--timeout", "3m", "--json")
		fs := r.findings(t)
		sess, pv = byCheck(fs, "pool.iscsi-session-gone", res.ISCSIPool), byCheck(fs, "pool.pv-missing", pool)
		if sess != nil && pv != nil {
			break
		}
	}
	if sess == nil || sess.Severity != model.SeverityCritical || pv == nil {
		t.Fatalf("session logged out: want critical pool.iscsi-session-gone on %s and pool.pv-missing on %s, got %+v and %+v", res.ISCSIPool, pool, sess, pv)
	}
	t.Logf("finding: %s\nevidence: %s\nfix: %s", sess.Message, sess.Evidence, sess.Fix)
	if !strings.Contains(sess.Evidence, "2 of 2 LUNs have no block device on the host") || !strings.Contains(sess.Fix, "--targetname "+iqn) || !strings.Contains(sess.Fix, "--login") {
		t.Errorf("session finding: evidence %q, fix %q", sess.Evidence, sess.Fix)
	}
	if !strings.Contains(pv.Message, "not on the host any more") {
		t.Errorf("whole VG gone: %s", pv.Message)
	}
	relogin(t, n, iqn, portal)
	for deadline := time.Now().Add(5 * time.Minute); ; {
		fs := doctorRun("--uri", n.URI, "--timeout", "3m", "--json").findings(t)
		sess, pv = byCheck(fs, "pool.iscsi-session-gone", res.ISCSIPool), byCheck(fs, "pool.pv-missing", pool)
		if sess == nil && pv == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logged in again: findings stay: %+v %+v", sess, pv)
		}
	}
}

// relogin logs the nested host in to the target again, as the session
// finding's fix says, when it is not logged in, and lets LVM see its PVs.
func relogin(t *testing.T, n lab.Nested, iqn, portal string) {
	t.Helper()
	cmd := "iscsiadm --mode session 2>/dev/null | grep -q ' " + iqn + " ' || iscsiadm --mode node --targetname " + iqn + " --portal " + portal + " --login >/dev/null; udevadm settle; pvscan --cache >/dev/null"
	if _, err := onNested(t, n, cmd); err != nil {
		t.Error(err)
	}
}

// restorePV puts LUN 2 back on the SAN when it is gone, and runs on the
// host what the finding's fix names: a session rescan, then pvscan
// --cache (LVM keeps a device it saw fail out of its hints until then).
func restorePV(t *testing.T, n lab.Nested, tg *tgtTarget) {
	t.Helper()
	if !tg.hasLUN(2) {
		tg.addLUN(t, 2)
	}
	if _, err := onNested(t, n, "iscsiadm --mode session --rescan >/dev/null && pvscan --cache >/dev/null"); err != nil {
		t.Error(err)
	}
}
