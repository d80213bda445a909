package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"stowage/lab"
	"stowage/model"
)

// tgtTarget is a temporary target on the lab's tgtd: LUN i+1 is backed
// by files[i].
type tgtTarget struct {
	tid, iqn string
	files    []string
}

// tgtRun runs tgtadm with the lab's lld (console_e2e_iscsi_lab_test.go's
// tgtadm), its output folded into the error.
func tgtRun(args ...string) error {
	out, err := tgtadm(args...)
	if err != nil {
		return fmt.Errorf("tgtadm %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// newTgtTarget makes target iqn with a LUN of size bytes per file, on the
// first tid tgtd does not use (lab/up's targets use 1, 12 and 13); the
// target and the files are removed when the test ends.
func newTgtTarget(t *testing.T, iqn string, size int64, files ...string) *tgtTarget {
	t.Helper()
	return newTgtTargetIn(t, 40, 100, iqn, size, files...)
}

// newTgtTargetIn is newTgtTarget on the first free tid in [from, to): a
// test suite with a tid range of its own passes it.
func newTgtTargetIn(t *testing.T, from, to int, iqn string, size int64, files ...string) *tgtTarget {
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
	for tid := from; tid < to; tid++ {
		tg := &tgtTarget{tid: strconv.Itoa(tid), iqn: iqn, files: files}
		if tgtRun("--mode", "target", "--op", "new", "--tid", tg.tid, "--targetname", iqn) != nil {
			continue // taken (by another test, too)
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
	t.Fatalf("tgtd has no free tid in %d-%d", from, to-1)
	return nil
}

func (tg *tgtTarget) addLUN(t *testing.T, lun int) {
	t.Helper()
	if err := tgtRun("--mode", "logicalunit", "--op", "new", "--tid", tg.tid, "--lun", strconv.Itoa(lun), "--backing-store", tg.files[lun-1]); err != nil {
		t.Fatal(err)
	}
}

// deleteLUN removes one LUN as the SAN's admin would.
func (tg *tgtTarget) deleteLUN(t *testing.T, lun int) {
	t.Helper()
	if err := tgtRun("--mode", "logicalunit", "--op", "delete", "--tid", tg.tid, "--lun", strconv.Itoa(lun)); err != nil {
		t.Fatal(err)
	}
}

// hasLUN reports whether the target exposes the LUN now.
func (tg *tgtTarget) hasLUN(lun int) bool {
	out, _ := tgtadm("--mode", "target", "--op", "show")
	_, rest, ok := strings.Cut(string(out), fmt.Sprintf("Target %s: %s\n", tg.tid, tg.iqn))
	if !ok {
		return false
	}
	if i := strings.Index(rest, "\nTarget "); i >= 0 {
		rest = rest[:i]
	}
	return strings.Contains(rest, fmt.Sprintf("LUN: %d\n", lun))
}

// delete removes the target as a second admin on the SAN would, sessions
// or not; a target that is gone already is not an error.
func (tg *tgtTarget) delete(t *testing.T) {
	t.Helper()
	out, _ := tgtadm("--mode", "target", "--op", "show")
	if !strings.Contains(string(out), fmt.Sprintf("Target %s: %s\n", tg.tid, tg.iqn)) {
		return
	}
	if err := tgtRun("--mode", "target", "--op", "delete", "--force", "--tid", tg.tid); err != nil {
		t.Error(err)
	}
}

// recreate puts the same target back (same tid, IQN and LUN files).
func (tg *tgtTarget) recreate(t *testing.T) {
	t.Helper()
	if err := tgtRun("--mode", "target", "--op", "new", "--tid", tg.tid, "--targetname", tg.iqn); err != nil {
		t.Fatal(err)
	}
	for i := range tg.files {
		tg.addLUN(t, i+1)
	}
	if err := tgtRun("--mode", "target", "--op", "bind", "--tid", tg.tid, "--initiator-address", "ALL"); err != nil {
		t.Fatal(err)
	}
}

// TestLabDoctorISCSITargetGone: an iscsi-direct pool on a temporary tgt
// target; a second admin deletes the target on the SAN; stowage doctor
// --readonly says it could not check (the refresh is refused) and what it
// read instead; stowage doctor reports the pool cut off, with the refresh
// as evidence, and libvirt having stopped the pool; the target comes back,
// the pool is started as the fix says, and the finding is gone.
func TestLabDoctorISCSITargetGone(t *testing.T) {
	env := lab.Need(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	id := fmt.Sprintf("t-doc-iscsi-%d", time.Now().UnixNano())
	iqn := "iqn.2026-11.lab.stowage:" + id
	tg := newTgtTarget(t, iqn, 16<<20, filepath.Join("/var/tmp", id+".img"))

	host, port, _ := strings.Cut(env.ISCSIPortal, ":")
	xml := fmt.Sprintf(`<pool type='iscsi-direct'><name>%s</name><source><host name='%s' port='%s'/><device path='%s'/>`+
		`<initiator><iqn name='%s'/></initiator></source></pool>`, id, host, port, iqn, env.ISCSIInitiator)
	xmlFile := filepath.Join(t.TempDir(), "pool.xml")
	if err := os.WriteFile(xmlFile, []byte(xml), 0o600); err != nil {
		t.Fatal(err)
	}
	mustVirsh(t, env.URI, "pool-define", xmlFile)
	t.Cleanup(func() {
		virsh(t, env.URI, "pool-destroy", id)
		if _, err := virsh(t, env.URI, "pool-undefine", id); err != nil {
			t.Error(err)
		}
	})
	mustVirsh(t, env.URI, "pool-start", id)

	diagnose := func(args ...string) *model.Finding {
		t.Helper()
		r := doctorRun(append([]string{"--uri", env.URI, "--json"}, append(args, id)...)...)
		fs := r.findings(t)
		for i := range fs {
			if fs[i].Concerns(id) && strings.HasPrefix(fs[i].Check, "pool.iscsi-") {
				return &fs[i]
			}
		}
		return nil
	}
	if f := diagnose(); f != nil {
		t.Fatalf("target present: want no iSCSI finding, got %+v", *f)
	}

	tg.delete(t)

	f := diagnose("--readonly")
	if f == nil || f.Check != "pool.iscsi-unprobed" || f.Severity != model.SeverityInfo ||
		!strings.Contains(f.Evidence, "read only access prevents virStoragePoolRefresh") || !strings.Contains(f.Evidence, "as of its last refresh") {
		t.Fatalf("--readonly, target gone: want info pool.iscsi-unprobed saying the refresh was refused, got %+v", f)
	}
	if state := colonFields(mustVirsh(t, env.URI, "pool-info", id))["State"]; state != "running" {
		t.Fatalf("--readonly changed the pool: state %q", state)
	}

	f = diagnose()
	if f == nil || f.Check != "pool.iscsi-session-gone" || f.Severity != model.SeverityCritical {
		t.Fatalf("target gone: want critical pool.iscsi-session-gone, got %+v", f)
	}
	t.Logf("finding: %s\nevidence: %s\nfix: %s", f.Message, f.Evidence, f.Fix)
	for _, want := range []string{iqn, env.ISCSIPortal, "lose their disks", "libvirt stopped the pool"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message lacks %q: %s", want, f.Message)
		}
	}
	if !strings.Contains(f.Evidence, "virStoragePoolRefresh("+id+")") || !strings.Contains(f.Evidence, "Target not found") {
		t.Errorf("evidence: %s", f.Evidence)
	}
	startCmd := fmt.Sprintf("virsh -c %s pool-start %s", env.URI, id)
	if !strings.Contains(f.Fix, startCmd) {
		t.Errorf("fix %q lacks %q", f.Fix, startCmd)
	}
	// What the finding says of the pool's state is what libvirt shows.
	if state := colonFields(mustVirsh(t, env.URI, "pool-info", id))["State"]; state != "inactive" {
		t.Fatalf("after the failed refresh the pool is %q; the finding says libvirt stopped it", state)
	}

	tg.recreate(t)
	mustVirsh(t, env.URI, "pool-start", id) // the fix's command, as the admin runs it
	if f := diagnose(); f != nil {
		t.Fatalf("target back and pool started: want no iSCSI finding, got %+v", *f)
	}
	if state := colonFields(mustVirsh(t, env.URI, "pool-info", id))["State"]; state != "running" {
		t.Fatalf("after the fix the pool is %q", state)
	}
}
