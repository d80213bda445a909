package drive_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"stowage/drive"
	"stowage/lab"
	"stowage/model"
)

// Every refusal gives its message and leaves nothing behind.
func TestLabRefusals(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()

	dup := uniq("dup")
	if _, err := r.conn.CreateVolume(ctx, r.env.DirPool, model.VolumeSpec{Name: dup, Capacity: 1 << 20, Format: "raw"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.conn.DeleteVolume(context.Background(), r.env.DirPool, dup) })

	inactive := uniq("off")
	virsh(t, "pool-define-as", inactive, "dir", "--target", t.TempDir())
	t.Cleanup(func() { _ = exec.Command("virsh", "pool-undefine", inactive).Run() })

	stopped := uniq("vm")
	xml := filepath.Join(t.TempDir(), "vm.xml")
	writeFile(t, xml, "<domain type='qemu'><name>"+stopped+"</name><memory unit='MiB'>32</memory>"+
		"<os><type arch='x86_64'>hvm</type></os></domain>")
	virsh(t, "define", xml)
	t.Cleanup(func() { _ = exec.Command("virsh", "undefine", stopped).Run() })

	cases := []struct {
		name string
		spec model.DriveSpec
		msg  string
	}{
		{"slash", model.DriveSpec{Pool: r.env.DirPool, Name: "a/b", Size: 1 << 20}, "'/'"},
		{"dotdot", model.DriveSpec{Pool: r.env.DirPool, Name: "..", Size: 1 << 20}, "reserved"},
		{"control", model.DriveSpec{Pool: r.env.DirPool, Name: "a\nb", Size: 1 << 20}, "control character"},
		{"rbd-at", model.DriveSpec{Pool: r.env.RBDPool, Name: "img@snap", Size: 1 << 20}, "snapshots"},
		{"duplicate", model.DriveSpec{Pool: r.env.DirPool, Name: dup, Size: 1 << 20}, "already exists"},
		{"zero", model.DriveSpec{Pool: r.env.DirPool, Name: uniq("z"), Size: 0}, "zero"},
		{"inactive", model.DriveSpec{Pool: inactive, Name: uniq("x"), Size: 1 << 20}, "inactive"},
		{"no-pool", model.DriveSpec{Pool: uniq("nopool"), Name: uniq("x"), Size: 1 << 20}, "does not exist"},
		{"iscsi", model.DriveSpec{Pool: r.env.ISCSIPool, Name: uniq("x"), Size: 1 << 20}, "LVM-on-iSCSI"},
		{"vm-stopped", model.DriveSpec{Pool: r.env.DirPool, Name: uniq("x"), Size: 1 << 20, AttachVM: stopped,
			Attach: model.AttachMode{Live: true}}, "needs it running"},
		{"luks2-on-dir", model.DriveSpec{Pool: r.env.DirPool, Name: uniq("x"), Size: 1 << 20, Encryption: model.EncryptLUKS2}, "rbd pools only"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := drive.Prepare(ctx, r.deps, c.spec)
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("%v; want an error containing %q", err, c.msg)
			}
			if c.spec.Name != dup {
				if names, _ := r.conn.VolumeNames(ctx, c.spec.Pool); contains(names, c.spec.Name) {
					t.Errorf("volume %s made despite the refusal", c.spec.Name)
				}
			}
		})
	}
	if len(r.rand.passphrases()) != 0 {
		t.Error("a refused drive drew a passphrase: Prepare must not start the work")
	}
}

// A pool on a 16 KiB tmpfs: the capacity check warns (dir pools can
// over-commit), qemu-img then fails writing the LUKS header, and the
// secret made before it is undefined again.
//
// The test proves the failure came from the full pool and not from any
// failure at all: the volume step must fail with ENOSPC ("No space left
// on device", as qemu-img reports it through libvirt) for the file on this
// tmpfs, and no other step may fail. Then nothing may be left: no volume
// in libvirt, no file on the tmpfs, no secret for the volume's path.
func TestLabFullPool(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", mnt).CombinedOutput(); err != nil {
		lab.Unavailable(t, "cannot mount a tiny tmpfs here (%v: %s); the capacity check is covered by model's unit tests", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", mnt).Run() })
	// The premise: this file system cannot hold a LUKS header (QEMU's
	// smallest is over 1 MiB).
	var fs syscall.Statfs_t
	if err := syscall.Statfs(mnt, &fs); err != nil {
		t.Fatal(err)
	}
	if total := fs.Blocks * uint64(fs.Bsize); total > 64<<10 {
		t.Fatalf("tmpfs at %s holds %d bytes; the test needs one too small for a LUKS header", mnt, total)
	}
	pool := uniq("full")
	virsh(t, "pool-create-as", pool, "dir", "--target", mnt)
	t.Cleanup(func() { _ = exec.Command("virsh", "pool-destroy", pool).Run() })
	name := uniq("big")
	path := filepath.Join(mnt, name)
	t.Cleanup(func() {
		if u, ok, _ := r.conn.SecretByVolumeUsage(context.Background(), path); ok {
			_ = r.conn.UndefineSecret(context.Background(), u)
		}
	})
	p, err := drive.Prepare(ctx, r.deps, model.DriveSpec{Pool: pool, Name: name, Size: 64 << 20, Encryption: model.EncryptLUKS})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) == 0 || !strings.Contains(p.Warnings[0], "over-committed") {
		t.Errorf("warnings %v; want an over-commit warning", p.Warnings)
	}
	collect, events := drain(make(chan drive.Event, 256))
	_, err = drive.Create(ctx, r.deps, p, events)
	evs := collect()
	if err == nil || !strings.Contains(err.Error(), "nothing left") {
		t.Fatalf("create in a full pool: %v; want a failure, rolled back", err)
	}
	t.Logf("create in a full pool: %v", err)
	// The cause: ENOSPC for the volume's file, in the error the caller
	// gets and in the failed step's event. strerror's wording is glibc's,
	// Go's is lower case: compare without case.
	enospc := strings.ToLower(syscall.ENOSPC.Error())
	isCause := func(e error) bool {
		return e != nil && strings.Contains(strings.ToLower(e.Error()), enospc) && strings.Contains(e.Error(), path)
	}
	if !isCause(err) {
		t.Errorf("the error does not say the pool's file system is full (ENOSPC writing %s): %v", path, err)
	}
	var failed []drive.Event
	undone := map[model.StepID]bool{}
	for _, e := range evs {
		switch e.Kind {
		case drive.StepFailed:
			failed = append(failed, e)
		case drive.StepUndone:
			undone[e.Step.ID] = true
		}
	}
	if len(failed) != 1 || failed[0].Step.ID != model.StepCreateVolume || !isCause(failed[0].Err) {
		t.Errorf("failed steps %+v; want exactly the volume step, failing with ENOSPC for %s", failed, path)
	}
	if !undone[model.StepCreateSecret] {
		t.Errorf("the secret made before the volume was not reported undone (undone: %v)", undone)
	}
	r.assertNothingLeft(t, pool, name, path, "")
	// libvirt's view aside, the file system itself: qemu-img's partial
	// file must be gone too.
	if ents, err := os.ReadDir(mnt); err != nil || len(ents) != 0 {
		t.Errorf("files left on the full pool's tmpfs: %v %v", ents, err)
	}
	// The audit log tells the same story: the volume step failed with
	// ENOSPC, the secret's undo succeeded.
	audit, err := os.ReadFile(r.audit)
	if err != nil {
		t.Fatal(err)
	}
	var volFailed, secretUndone bool
	for _, line := range bytes.Split(bytes.TrimSpace(audit), []byte("\n")) {
		var rec drive.Record
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if rec.Action == "create volume" && rec.Result == "failed" && strings.Contains(strings.ToLower(rec.Error), enospc) {
			volFailed = true
		}
		if rec.Action == "undo create secret" && rec.Result == "ok" {
			secretUndone = true
		}
	}
	if !volFailed || !secretUndone {
		t.Errorf("audit log lacks the volume's ENOSPC failure (%v) or the secret's undo (%v):\n%s", volFailed, secretUndone, audit)
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := osWriteFile(path, []byte(s)); err != nil {
		t.Fatal(err)
	}
}
