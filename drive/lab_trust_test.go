package drive_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/drive"
	"stowage/model"
)

// The bug that made issue 10: a drive prepared, another admin makes a
// volume of the same name with data in it before stowage creates, the
// create fails with "exists already", and the rollback must not delete
// their volume. For an encrypted drive the secret this run made is undone;
// their volume, and their data, stay.
func TestLabNameCollisionNeverDeletesTheOtherAdminsVolume(t *testing.T) {
	for _, enc := range []model.DriveEncryption{model.EncryptNone, model.EncryptLUKS} {
		t.Run(string(enc), func(t *testing.T) {
			r := newRig(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			name := uniq("victim")
			p, err := drive.Prepare(ctx, r.deps, model.DriveSpec{Pool: r.env.DirPool, Name: name, Size: 8 << 20, Encryption: enc})
			if err != nil {
				t.Fatal(err)
			}
			// The second admin, between the review and Enter.
			virsh(t, "vol-create-as", r.env.DirPool, name, "1M", "--format", "raw")
			t.Cleanup(func() { virshQuiet("vol-delete", "--pool", r.env.DirPool, name) })
			data := bytes.Repeat([]byte("their data "), 1000)
			src := filepath.Join(t.TempDir(), "data")
			if err := os.WriteFile(src, data, 0o600); err != nil {
				t.Fatal(err)
			}
			virsh(t, "vol-upload", "--pool", r.env.DirPool, name, src)

			_, err = drive.Create(ctx, r.deps, p, nil)
			if err == nil || !strings.Contains(err.Error(), "exists") {
				t.Fatalf("create over their volume: %v; want libvirt's 'exists already'", err)
			}
			dst := filepath.Join(t.TempDir(), "back")
			virsh(t, "vol-download", "--pool", r.env.DirPool, name, dst)
			got, _ := os.ReadFile(dst)
			if !bytes.HasPrefix(got, data) {
				t.Fatalf("their volume lost its data (%d bytes back)", len(got))
			}
			audit, _ := os.ReadFile(r.audit)
			if strings.Contains(string(audit), `"action":"undo create volume"`) {
				t.Errorf("the audit log records an undo of a volume this run never made:\n%s", audit)
			}
			if enc != model.EncryptNone {
				// The secret was this run's: it is gone again.
				if !strings.Contains(string(audit), `"action":"undo create secret","object":"`+r.env.DirPool+"/"+name+`","result":"ok"`) {
					t.Errorf("the secret this run made was not undone:\n%s", audit)
				}
				if out := virshQuiet("secret-list"); strings.Contains(out, name) {
					t.Errorf("a secret for %s is left:\n%s", name, out)
				}
			}
		})
	}
}

// A secret shared by two volumes: deleting one drive keeps the secret
// (the other volume needs it, and a private secret cannot be re-made with
// the same passphrase), and says why.
func TestLabDeleteKeepsASecretAnotherVolumeUses(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	name := uniq("shared-a")
	p, err := drive.Prepare(ctx, r.deps, model.DriveSpec{Pool: r.env.DirPool, Name: name, Size: 8 << 20, Encryption: model.EncryptLUKS})
	if err != nil {
		t.Fatal(err)
	}
	res, err := drive.Create(ctx, r.deps, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		virshQuiet("vol-delete", "--pool", r.env.DirPool, name)
		virshQuiet("secret-undefine", res.SecretUUID)
	})
	// The second admin encrypts another volume with the same secret
	// (through libvirt, as virsh vol-create would; the libvirtx call makes
	// QEMU's flaky benchmark the product's problem, not the test's).
	other := name + "-b"
	if _, err := r.conn.CreateVolume(ctx, r.env.DirPool, model.VolumeSpec{Name: other, Capacity: 8 << 20, Format: "raw",
		Encryption: &model.Encryption{Format: "luks", SecretUUID: res.SecretUUID}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { virshQuiet("vol-delete", "--pool", r.env.DirPool, other) })

	dres, err := drive.Delete(ctx, r.deps, r.env.DirPool, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(virsh(t, "secret-list"), res.SecretUUID) {
		t.Fatalf("secret %s was undefined while volume %s uses it", res.SecretUUID, other)
	}
	if n := strings.Join(dres.Notes, "\n"); !strings.Contains(n, "kept") || !strings.Contains(n, other) {
		t.Errorf("notes %q; want the secret kept, naming %s", n, other)
	}
	if _, err := r.conn.Volume(ctx, r.env.DirPool, name); err == nil {
		t.Errorf("volume %s still exists after delete", name)
	}
}

// virshQuiet runs virsh for cleanups and checks that may fail.
func virshQuiet(args ...string) string {
	out, err := exec.Command("virsh", args...).CombinedOutput()
	if err != nil {
		return string(out) + " " + err.Error()
	}
	return string(out)
}
