package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/lab"
	"stowage/model"
	"stowage/plan"
)

// doctorRun runs `stowage doctor ARGS` in this process.
func doctorRun(args ...string) cliRun {
	var out, errb bytes.Buffer
	rc := cmdDoctor(args, &out, &errb)
	return cliRun{rc, out.String(), errb.String()}
}

// findings decodes a --json run.
func (r cliRun) findings(t *testing.T) []model.Finding {
	t.Helper()
	var v struct {
		Findings []model.Finding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("doctor JSON: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	return v.Findings
}

// byCheck finds the finding of a check about object (substring).
func byCheck(fs []model.Finding, check, object string) *model.Finding {
	for i, f := range fs {
		if f.Check == check && strings.Contains(f.Object, object) {
			return &fs[i]
		}
	}
	return nil
}

func auditHas(t *testing.T, action, object, result string) bool {
	t.Helper()
	b, err := os.ReadFile(plan.DefaultAuditPath())
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		var r plan.Record
		if json.Unmarshal([]byte(line), &r) == nil && r.Action == action && r.Object == object && r.Result == result {
			return true
		}
	}
	return false
}

// TestLabDoctorLibvirtFaults injects each libvirt fault the doctor checks
// for with virsh (a second admin), sees it found with its evidence, and
// applies stowage's fix where one exists: a pool stopped under a VM, a
// pool without autostart, a volume deleted under a VM's disk, a disk's
// secret lost (re-defined with its value from a file, never shown), an
// orphan secret, an over-committed pool; and a fix another admin made
// first, which stowage then refuses to redo.
func TestLabDoctorLibvirtFaults(t *testing.T) {
	env := lab.Need(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	id := fmt.Sprintf("t-doc-%d", time.Now().UnixNano())
	pool, vm := id, id+"-vm"
	dir, err := os.MkdirTemp("/var/tmp", id+".")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lost := newUUID(t)
	orphan := newUUID(t)
	t.Cleanup(func() {
		_, _ = virsh(t, env.URI, "undefine", vm)
		_, _ = virsh(t, env.URI, "pool-destroy", pool)
		_, _ = virsh(t, env.URI, "pool-undefine", pool)
		_, _ = virsh(t, env.URI, "secret-undefine", lost)
		_, _ = virsh(t, env.URI, "secret-undefine", orphan)
		os.RemoveAll(dir)
	})
	mustVirsh(t, env.URI, "pool-define-as", pool, "dir", "--target", dir)
	mustVirsh(t, env.URI, "pool-start", pool)
	for _, v := range []string{"a.raw", "b.raw", "c.raw"} {
		mustVirsh(t, env.URI, "vol-create-as", pool, v, "16M")
	}
	domXML := filepath.Join(t.TempDir(), "vm.xml")
	writeFile(t, domXML, fmt.Sprintf(`<domain type='kvm'><name>%s</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>
<disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='%s' volume='a.raw'/><target dev='vda' bus='virtio'/></disk>
<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='%s/b.raw'/><target dev='vdb' bus='virtio'/></disk>
<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='%s/c.raw'/>
<encryption format='luks'><secret type='passphrase' uuid='%s'/></encryption><target dev='vdc' bus='virtio'/></disk>
</devices></domain>`, vm, pool, dir, dir, lost))
	mustVirsh(t, env.URI, "define", domXML)

	// The VM's view: its pool will not come back after a reboot, and its
	// encrypted disk's secret is gone.
	r := doctorRun("--uri", env.URI, "--json", vm)
	fs := r.findings(t)
	if r.rc != 1 {
		t.Fatalf("doctor rc %d with a critical finding, want 1; stderr %s", r.rc, r.stderr)
	}
	if f := byCheck(fs, "pool.no-autostart-in-use", pool); f == nil || f.Action == nil || f.Action.Kind != model.FixAutostartPool {
		t.Fatalf("want the autostart finding for %s, got %+v", pool, fs)
	}
	sec := byCheck(fs, "disk.secret-missing", "disk vdc of VM "+vm)
	if sec == nil || sec.Severity != model.SeverityCritical || !strings.Contains(sec.Evidence, lost) {
		t.Fatalf("want the critical lost-secret finding naming %s, got %+v", lost, fs)
	}
	if fs[0].Severity != model.SeverityCritical {
		t.Fatalf("findings not most severe first: %+v", fs)
	}

	// A second admin stops the pool: VMs naming it will not start.
	mustVirsh(t, env.URI, "pool-destroy", pool)
	fs = doctorRun("--uri", env.URI, "--json", pool).findings(t)
	in := byCheck(fs, "pool.inactive-in-use", pool)
	if in == nil || in.Severity != model.SeverityCritical || !strings.Contains(in.Evidence, "inactive") || in.Action == nil {
		t.Fatalf("want critical pool.inactive-in-use for %s, got %+v", pool, fs)
	}
	fix := model.FixStartPool + ":" + pool
	if r := doctorRun("--uri", env.URI, "--fix", fix, "--confirm", "wrong"); r.rc != 1 || !strings.Contains(r.stderr, "--confirm "+pool) {
		t.Fatalf("fix with a wrong confirmation: rc %d stderr %q, want a refusal naming --confirm %s", r.rc, r.stderr, pool)
	}
	if !auditHas(t, "doctor fix start-pool", pool, plan.ResultRefused) {
		t.Fatal("the refused fix is not in the audit log")
	}
	if r := doctorRun("--uri", env.URI, "--readonly", "--fix", fix, "--confirm", pool); r.rc != 1 || !strings.Contains(r.stderr, "--readonly") {
		t.Fatalf("fix under --readonly: rc %d stderr %q, want a refusal", r.rc, r.stderr)
	}
	if info := colonFields(mustVirsh(t, env.URI, "pool-info", pool)); info["State"] != "inactive" {
		t.Fatalf("refused fixes changed the pool: %v", info)
	}
	if r := doctorRun("--uri", env.URI, "--fix", fix, "--confirm", pool); r.rc != 0 {
		t.Fatalf("fix %s: rc %d stderr %s", fix, r.rc, r.stderr)
	}
	if info := colonFields(mustVirsh(t, env.URI, "pool-info", pool)); info["State"] != "running" {
		t.Fatalf("after the fix the pool is %q, want running", info["State"])
	}
	if !auditHas(t, "doctor fix start-pool", pool, plan.ResultOK) {
		t.Fatal("the fix is not in the audit log")
	}

	// Stopped again, and another admin starts it before stowage's fix
	// lands: stowage re-checks and does nothing.
	mustVirsh(t, env.URI, "pool-destroy", pool)
	if f := byCheck(doctorRun("--uri", env.URI, "--json").findings(t), "pool.inactive-in-use", pool); f == nil {
		t.Fatal("stopped again: the finding is missing")
	}
	mustVirsh(t, env.URI, "pool-start", pool)
	if r := doctorRun("--uri", env.URI, "--fix", fix, "--confirm", pool); r.rc != 1 || !strings.Contains(r.stderr, "any more") {
		t.Fatalf("fix already made by another admin: rc %d stderr %q, want a refusal saying nothing asks for it", r.rc, r.stderr)
	}

	// Autostart, by stowage's fix.
	if r := doctorRun("--uri", env.URI, "--fix", model.FixAutostartPool+":"+pool, "--confirm", pool); r.rc != 0 {
		t.Fatalf("autostart fix: rc %d stderr %s", r.rc, r.stderr)
	}
	if info := colonFields(mustVirsh(t, env.URI, "pool-info", pool)); info["Autostart"] != "yes" {
		t.Fatalf("after the autostart fix: %v", info)
	}

	// The lost secret, re-defined from a file: same UUID, the usage the
	// disk implies, the value never in any output.
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	value := hex.EncodeToString(raw)
	secret := lab.NewSecret("the re-defined secret's value", []byte(value))
	g := lab.Guard(t, secret)
	valueFile := filepath.Join(t.TempDir(), "value")
	writeFile(t, valueFile, value+"\n")
	r = doctorRun("--uri", env.URI, "--fix", model.FixSetSecret+":"+lost, "--confirm", lost, "--secret-file", valueFile)
	if r.rc != 0 {
		g.Fatalf("set-secret fix: rc %d stderr %s", r.rc, r.stderr)
	}
	secret.AssertAbsent(g, "doctor set-secret stdout", []byte(r.stdout))
	secret.AssertAbsent(g, "doctor set-secret stderr", []byte(r.stderr))
	if x := mustVirsh(t, env.URI, "secret-dumpxml", lost); !strings.Contains(x, dir+"/c.raw") || !strings.Contains(x, "private='yes'") {
		t.Fatalf("re-defined secret: %s", x)
	}
	fs = doctorRun("--uri", env.URI, "--json", vm).findings(t)
	if f := byCheck(fs, "disk.secret-missing", vm); f != nil {
		t.Fatalf("after the fix the secret is still reported: %+v", f)
	}
	secret.AssertAbsentInFiles(g, os.Getenv("XDG_STATE_HOME"))

	// A second admin deletes a volume under the VM's disk; an orphan
	// secret; a volume that can grow past the pool.
	mustVirsh(t, env.URI, "vol-delete", "--pool", pool, "b.raw")
	orphanXML := filepath.Join(t.TempDir(), "secret.xml")
	writeFile(t, orphanXML, fmt.Sprintf(`<secret ephemeral='no' private='yes'><uuid>%s</uuid><usage type='volume'><volume>%s/gone.img</volume></usage></secret>`, orphan, dir))
	mustVirsh(t, env.URI, "secret-define", orphanXML)
	mustVirsh(t, env.URI, "vol-create-as", pool, "huge.raw", "15T", "--allocation", "0")
	fs = doctorRun("--uri", env.URI, "--json").findings(t)
	gone := byCheck(fs, "disk.volume-gone", "disk vdb of VM "+vm)
	if gone == nil || gone.Severity != model.SeverityCritical || !strings.Contains(gone.Fix, "detach-disk "+vm+" vdb --config") {
		t.Fatalf("want the gone volume under vdb with the detach command, got %+v", fs)
	}
	if f := byCheck(fs, "secret.orphan", orphan); f == nil || f.Severity != model.SeverityInfo {
		t.Fatalf("want the orphan secret %s as info, got %+v", orphan, fs)
	}
	if f := byCheck(fs, "pool.overcommitted", pool); f == nil || !strings.Contains(f.Evidence, "sum of the volumes' capacities") {
		t.Fatalf("want %s over-committed, got %+v", pool, fs)
	}
}

func newUUID(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/kernel/random/uuid")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
