package drive_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"stowage/drive"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
)

// Every refusal gives its message and leaves nothing behind.
func TestLabRefusals(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()

	dup := uniq("dup")
	if _, err := r.conn.CreateVolume(ctx, r.env.DirPool, libvirtx.VolumeSpec{Name: dup, Capacity: 1 << 20, Format: "raw"}); err != nil {
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
func TestLabFullPool(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", mnt).CombinedOutput(); err != nil {
		lab.Unavailable(t, "cannot mount a tiny tmpfs here (%v: %s); the capacity check is covered by model's unit tests", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", mnt).Run() })
	pool := uniq("full")
	virsh(t, "pool-create-as", pool, "dir", "--target", mnt)
	t.Cleanup(func() { _ = exec.Command("virsh", "pool-destroy", pool).Run() })
	name := uniq("big")
	t.Cleanup(func() {
		if u, ok, _ := r.conn.SecretByVolumeUsage(context.Background(), filepath.Join(mnt, name)); ok {
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
	_, err = drive.Create(ctx, r.deps, p, nil)
	if err == nil || !strings.Contains(err.Error(), "nothing left") {
		t.Fatalf("create in a full pool: %v; want a failure, rolled back", err)
	}
	t.Logf("create in a full pool: %v", err)
	r.assertNothingLeft(t, pool, name, filepath.Join(mnt, name), "")
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
