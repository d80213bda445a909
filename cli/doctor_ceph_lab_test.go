package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/ceph"
	"stowage/lab"
	"stowage/model"
	"stowage/plan"
)

// labRBD runs the rbd tool as the lab's client.admin: the second admin,
// and the lab's way to leave a lock behind a client that has exited.
func labRBD(t *testing.T, env lab.Env, args ...string) (string, error) {
	t.Helper()
	full := append([]string{"-c", env.CephConf, "-k", filepath.Join(filepath.Dir(env.CephConf), "client.admin.keyring"), "--id", "admin"}, args...)
	out, err := exec.Command("rbd", full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("rbd %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// labRemoveImage removes a test's RBD image with every lock on it, and
// lets the lab's rbd pool see it gone.
func labRemoveImage(t *testing.T, env lab.Env, spec string) {
	t.Helper()
	if out, err := labRBD(t, env, "lock", "ls", spec); err == nil {
		for line := range strings.Lines(out) {
			if f := strings.Fields(line); len(f) >= 2 && strings.HasPrefix(f[0], "client.") {
				_, _ = labRBD(t, env, "lock", "rm", spec, f[1], f[0])
			}
		}
	}
	_, _ = labRBD(t, env, "rm", spec)
	_, _ = virsh(t, env.URI, "pool-refresh", env.RBDPool)
}

// labImage creates a 16 MiB RBD image as the lab's admin, removed with its
// locks when the test ends.
func labImage(t *testing.T, env lab.Env, spec string) {
	t.Helper()
	t.Cleanup(func() { labRemoveImage(t, env, spec) })
	if _, err := labRBD(t, env, "create", spec, "--size", "16M"); err != nil {
		t.Fatal(err)
	}
}

// TestLabDoctorCombinedScenario is the 3 a.m. page: a VM with a lost disk
// secret and a stale-locked RBD image on the same host. The doctor reports
// both about the VM, the secret first (critical) then the lock (warning),
// the lock tied to the libvirt pool and VM that use the image; stowage's
// fix breaks exactly that lock, and is audited.
func TestLabDoctorCombinedScenario(t *testing.T) {
	env := lab.Need(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	id := fmt.Sprintf("t-doc-%d", time.Now().UnixNano())
	image, vm, lost := id+"-img", id+"-vm", newUUID(t)
	spec := env.CephPool + "/" + image
	labImage(t, env, spec)
	t.Cleanup(func() { _, _ = virsh(t, env.URI, "undefine", vm) })
	mustVirsh(t, env.URI, "pool-refresh", env.RBDPool)
	domXML := filepath.Join(t.TempDir(), "vm.xml")
	writeFile(t, domXML, fmt.Sprintf(`<domain type='kvm'><name>%s</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>
<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='rbd' name='%s'><host name='127.0.0.1'/></source><target dev='vda' bus='virtio'/></disk>
<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/var/tmp/%s.img'/>
<encryption format='luks'><secret type='passphrase' uuid='%s'/></encryption><target dev='vdb' bus='virtio'/></disk>
</devices></domain>`, vm, spec, id, lost))
	mustVirsh(t, env.URI, "define", domXML)
	// The lock of a client that has exited: the rbd tool takes it and quits.
	if _, err := labRBD(t, env, "lock", "add", spec, "doctor-test"); err != nil {
		t.Fatal(err)
	}

	// The Ceph view of the same host: the image with its lock, its
	// libvirt pool and the VM.
	var inv bytes.Buffer
	// Its exit status is not asserted: 1 also says some other object of
	// the shared lab host vanished while it was read.
	var stderr bytes.Buffer
	cmdInventory([]string{"--uri", env.URI, "--ceph", "--json"}, &inv, &stderr)
	var doc inventoryDoc
	if err := json.Unmarshal(inv.Bytes(), &doc); err != nil {
		t.Fatalf("inventory --ceph JSON: %v\nstderr: %s", err, stderr.String())
	}
	var seen *model.CephImage
	for _, v := range doc.Ceph {
		for i, im := range v.Images {
			if im.Name == image {
				seen = &v.Images[i]
			}
		}
	}
	if seen == nil || seen.LibvirtPool != env.RBDPool || len(seen.VMs) != 1 || seen.VMs[0] != vm ||
		len(seen.Lockers) != 1 || seen.Lockers[0].Cookie != "doctor-test" || seen.Encryption != "none" {
		t.Fatalf("inventory --ceph's image %s: %+v; want pool %s, VM %s, one locker, no encryption", image, seen, env.RBDPool, vm)
	}

	r := doctorRun("--uri", env.URI, "--json", vm)
	fs := r.findings(t)
	sec := byCheck(fs, "disk.secret-missing", "disk vdb of VM "+vm)
	lock := byCheck(fs, ceph.CheckStaleLock, spec)
	if sec == nil || lock == nil {
		t.Fatalf("want the lost secret and the stale lock about %s, got %+v\nstderr %s", vm, fs, r.stderr)
	}
	if sec.Severity <= lock.Severity {
		t.Fatalf("severities %s (secret) and %s (lock): the lost secret stops the VM, it must rank first", sec.Severity, lock.Severity)
	}
	iSec, iLock := -1, -1
	for i := range fs {
		switch &fs[i] {
		case sec:
			iSec = i
		case lock:
			iLock = i
		}
	}
	if iSec > iLock {
		t.Fatalf("order: secret at %d, lock at %d; want most severe first", iSec, iLock)
	}
	if !lock.Concerns(env.RBDPool) || !lock.Concerns(vm) || !strings.Contains(lock.Message, "It is a disk of VM "+vm) {
		t.Fatalf("the lock finding does not name the libvirt side: related %v, message %q", lock.Related, lock.Message)
	}
	a := lock.Action
	if a == nil || a.Kind != model.FixBreakLock || a.Target != spec || a.Detail["cookie"] != "doctor-test" {
		t.Fatalf("lock action %+v: want break-lock %s cookie doctor-test", a, spec)
	}
	if !strings.Contains(lock.Fix, "--fix break-lock:"+spec) {
		t.Fatalf("fix %q: want stowage's command", lock.Fix)
	}

	fix := doctorRun("--uri", env.URI, "--fix", model.FixBreakLock+":"+spec, "--confirm", spec)
	if fix.rc != 0 {
		t.Fatalf("break-lock fix: rc %d stderr %s", fix.rc, fix.stderr)
	}
	if out, err := labRBD(t, env, "lock", "ls", spec); err != nil || strings.Contains(out, "doctor-test") {
		t.Fatalf("after the fix rbd lock ls says %q (%v): the lock is still there", out, err)
	}
	if !auditHas(t, "doctor fix break-lock", spec, plan.ResultOK) {
		t.Fatal("the lock break is not in the audit log")
	}
	fs = doctorRun("--uri", env.URI, "--json", vm).findings(t)
	if byCheck(fs, ceph.CheckStaleLock, spec) != nil || byCheck(fs, "disk.secret-missing", vm) == nil {
		t.Fatalf("after the fix: want the secret finding only, got %+v", fs)
	}
	// Again: nothing asks for it any more; refused and audited.
	if again := doctorRun("--uri", env.URI, "--fix", model.FixBreakLock+":"+spec, "--confirm", spec); again.rc != 1 || !strings.Contains(again.stderr, "any more") {
		t.Fatalf("second break: rc %d stderr %q, want a refusal", again.rc, again.stderr)
	}
	if !auditHas(t, "doctor fix break-lock", spec, plan.ResultRefused) {
		t.Fatal("the refused second break is not in the audit log")
	}
}
