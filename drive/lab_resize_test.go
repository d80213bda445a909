//go:build !noceph

package drive_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"stowage/ceph"
	"stowage/drive"
	"stowage/model"
)

// Resize on the real lab. Names carry the t-rs- prefix.

func rsName(kind string) string { return fmt.Sprintf("t-rs-%s-%d", kind, time.Now().UnixNano()) }

// createForResize makes a drive with stowage's own Create and removes it
// (and its secret) when the test ends.
func createForResize(t *testing.T, r *labRig, spec model.DriveSpec) drive.Result {
	t.Helper()
	ctx := context.Background()
	p, err := drive.Prepare(ctx, r.deps, spec)
	if err != nil {
		t.Fatal(err)
	}
	res, err := drive.Create(ctx, r.deps, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A leak is a failure: the drive must be removable once the test's
		// VMs let go of it.
		if err := r.conn.DeleteVolume(context.Background(), spec.Pool, spec.Name); err != nil && !errors.Is(err, model.ErrNotFound) {
			t.Errorf("remove %s/%s: %v", spec.Pool, spec.Name, err)
		}
		if res.SecretUUID != "" {
			_ = r.conn.UndefineSecret(context.Background(), res.SecretUUID)
		}
	})
	return res
}

func capacityOf(t *testing.T, r *labRig, pool, name string) uint64 {
	t.Helper()
	// A lookup refreshes the one volume (no pool refresh: another test's
	// create in the pool makes libvirt refuse one).
	v, err := r.conn.Volume(context.Background(), pool, name)
	if err != nil {
		t.Fatal(err)
	}
	return v.Capacity
}

var blkCapacity = regexp.MustCompile(`(?m)^Capacity:\s+(\d+)`)

// domblkinfo is `virsh domblkinfo VM TARGET`'s Capacity: what the guest sees.
func domblkinfo(t *testing.T, vm, target string) uint64 {
	t.Helper()
	m := blkCapacity.FindStringSubmatch(virsh(t, "domblkinfo", vm, target))
	if m == nil {
		t.Fatalf("no Capacity in domblkinfo %s %s", vm, target)
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

var virtualSize = regexp.MustCompile(`virtual size: .*\((\d+) bytes\)`)

// qemuImgPayload is qemu-img's view of an encrypted image's payload. The
// passphrase goes through a pipe (--object secret,file=/dev/fd/3), never
// argv, and qemu-img's output holds no secret.
func qemuImgPayload(t *testing.T, pass []byte, args ...string) uint64 {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("qemu-img", append([]string{"info", "-U", "--object", "secret,id=s0,file=/dev/fd/3"}, args...)...)
	cmd.ExtraFiles = []*os.File{pr}
	go func() {
		_, _ = pw.Write(pass)
		pw.Close()
	}()
	out, err := cmd.CombinedOutput()
	pr.Close()
	if err != nil {
		t.Fatalf("qemu-img info: %v\n%s", err, out)
	}
	m := virtualSize.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no virtual size in qemu-img info:\n%s", out)
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

// auditHas reports whether the audit log has a line with every one of parts.
func resizeAuditHas(t *testing.T, r *labRig, parts ...string) bool {
	t.Helper()
	b, err := os.ReadFile(r.audit)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

func resize(t *testing.T, r *labRig, s drive.ResizeSpec) (drive.ResizePrepared, drive.Result, error) {
	t.Helper()
	ctx := context.Background()
	p, err := drive.PrepareResize(ctx, r.deps, s)
	if err != nil {
		return p, drive.Result{}, err
	}
	res, err := drive.Resize(ctx, r.deps, p, nil)
	return p, res, err
}

// A QEMU-layer LUKS drive attached live to the running lab VM grows
// through QEMU: the guest (domblkinfo), libvirt (capacity) and qemu-img
// (the payload, opened with the drive's passphrase) agree on the asked
// size. Shrinking it is refused, audited, and changes nothing.
func TestLabResizeQEMULUKSLive(t *testing.T) {
	r := newRig(t)
	name := rsName("luks")
	res := createForResize(t, r, model.DriveSpec{Host: r.env.URI, Pool: r.env.DirPool, Name: name, Size: 32 << 20,
		Encryption: model.EncryptLUKS, Cipher: model.RecommendedCipher, AttachVM: r.env.VM, Attach: model.AttachMode{Live: true}})
	leaveVMClean(t, r.env.VM, name) // runs before the drive is removed
	pass := r.rand.passphrases()
	if len(pass) != 1 {
		t.Fatalf("%d passphrases drawn, want 1", len(pass))
	}
	p, _, err := resize(t, r, drive.ResizeSpec{Pool: r.env.DirPool, Name: name, Size: model.SizeChange{Bytes: 16 << 20, Relative: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Target.Open) != 1 || p.Target.Open[0].VM != r.env.VM || p.Target.Encryption != "luks" {
		t.Errorf("target %+v: want LUKS, open in %s", p.Target, r.env.VM)
	}
	const want = 48 << 20
	if got := domblkinfo(t, r.env.VM, res.Target); got != want {
		t.Errorf("guest sees %d bytes, want %d", got, want)
	}
	if got := capacityOf(t, r, r.env.DirPool, name); got != want {
		t.Errorf("libvirt capacity %d, want %d", got, want)
	}
	if got := qemuImgPayload(t, pass[0], "--image-opts", "driver=luks,key-secret=s0,file.filename="+res.Path); got != want {
		t.Errorf("qemu-img payload %d, want %d", got, want)
	}
	if fi, err := os.Stat(res.Path); err != nil || uint64(fi.Size()) <= want {
		t.Errorf("file %v (%v): want the payload plus the LUKS header", fi, err)
	}
	if !resizeAuditHas(t, r, `"resize drive"`, name, `"ok"`) {
		t.Error("no audit record of the resize")
	}

	// Bad input: a LUKS drive is never shrunk, even with the confirmation.
	_, _, err = resize(t, r, drive.ResizeSpec{Pool: r.env.DirPool, Name: name, Size: model.SizeChange{Bytes: 32 << 20}, Shrink: true, Confirm: name})
	if err == nil || !strings.Contains(err.Error(), "never shrinks an encrypted drive") {
		t.Fatalf("shrink of a LUKS drive: %v; want a refusal naming why", err)
	}
	if got := capacityOf(t, r, r.env.DirPool, name); got != want {
		t.Errorf("after the refused shrink libvirt says %d, want %d unchanged", got, want)
	}
	if got := domblkinfo(t, r.env.VM, res.Target); got != want {
		t.Errorf("after the refused shrink the guest sees %d, want %d unchanged", got, want)
	}
	if !resizeAuditHas(t, r, `"resize drive"`, name, `"refused"`, "never shrinks") {
		t.Error("the refusal is not in the audit log")
	}
}

// A librbd-LUKS2 image attached to the lab VM's persistent config only
// (libvirt 9 cannot hot-plug librbd disks) grows offline with its 16 MiB
// header: rbd's size is payload + header, libvirt agrees, and QEMU opening
// it through librbd with the passphrase sees exactly the asked size.
func TestLabResizeLibrbdLUKS2(t *testing.T) {
	r := newRig(t)
	name := rsName("rbd2")
	createForResize(t, r, model.DriveSpec{Host: r.env.URI, Pool: r.env.RBDPool, Name: name, Size: 32 << 20,
		Encryption: model.EncryptLUKS2, AttachVM: r.env.VM, Attach: model.AttachMode{Persistent: true}})
	leaveVMClean(t, r.env.VM, name) // runs before the drive is removed
	pass := r.rand.passphrases()
	if len(pass) != 1 {
		t.Fatalf("%d passphrases drawn, want 1", len(pass))
	}
	p, res, err := resize(t, r, drive.ResizeSpec{Pool: r.env.RBDPool, Name: name, Size: model.SizeChange{Bytes: 64 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Target.Encryption != "luks2" || p.Target.Header != model.LUKS2HeaderBytes || len(p.Target.Open) != 0 || len(p.Target.ConfigOnly) != 1 {
		t.Errorf("target %+v: want luks2, 16 MiB header, in the VM's config only", p.Target)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "next start") {
		t.Errorf("notes %q do not say the VM sees it at its next start", res.Notes)
	}
	const want = 64 << 20
	if got := capacityOf(t, r, r.env.RBDPool, name); got != want+model.LUKS2HeaderBytes {
		t.Errorf("libvirt capacity %d, want %d (payload + header)", got, want+model.LUKS2HeaderBytes)
	}
	cl, err := ceph.Connect(context.Background(), ceph.Config{ConfFile: r.env.CephConf, User: r.env.CephUser, Keyring: r.env.CephKeyring})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if got, err := cl.ImageSize(r.env.CephPool, name); err != nil || got != want+model.LUKS2HeaderBytes {
		t.Errorf("rbd image size %d (%v), want %d", got, err, want+model.LUKS2HeaderBytes)
	}
	spec := fmt.Sprintf(`json:{"driver":"raw","file":{"driver":"rbd","pool":%q,"image":%q,"conf":%q,"user":%q,"encrypt":{"format":"luks2","key-secret":"s0"}}}`,
		r.env.CephPool, name, r.env.CephConf, r.env.CephUser)
	if got := qemuImgPayload(t, pass[0], spec); got != want {
		t.Errorf("QEMU through librbd sees %d bytes, want %d", got, want)
	}
}

// Plain drives: rbd and dir grow; a dir shrink needs --shrink and the
// typed name, and then works.
func TestLabResizePlain(t *testing.T) {
	r := newRig(t)
	for _, pool := range []string{r.env.RBDPool, r.env.DirPool} {
		name := rsName("plain")
		createForResize(t, r, model.DriveSpec{Host: r.env.URI, Pool: pool, Name: name, Size: 32 << 20, Encryption: model.EncryptNone})
		if _, _, err := resize(t, r, drive.ResizeSpec{Pool: pool, Name: name, Size: model.SizeChange{Bytes: 8 << 20, Relative: true}}); err != nil {
			t.Fatalf("%s: %v", pool, err)
		}
		if got := capacityOf(t, r, pool, name); got != 40<<20 {
			t.Errorf("%s: capacity %d after +8M, want %d", pool, got, 40<<20)
		}
		if pool != r.env.DirPool {
			continue
		}
		_, _, err := resize(t, r, drive.ResizeSpec{Pool: pool, Name: name, Size: model.SizeChange{Bytes: 16 << 20}})
		if err == nil || !strings.Contains(err.Error(), "--shrink --confirm "+name) {
			t.Errorf("shrink without --shrink: %v; want a refusal naming --shrink --confirm", err)
		}
		_, _, err = resize(t, r, drive.ResizeSpec{Pool: pool, Name: name, Size: model.SizeChange{Bytes: 16 << 20}, Shrink: true, Confirm: "wrong"})
		if err == nil || !strings.Contains(err.Error(), "is not the drive's name") {
			t.Errorf("shrink with a wrong confirmation: %v; want a refusal", err)
		}
		if got := capacityOf(t, r, pool, name); got != 40<<20 {
			t.Errorf("refused shrinks changed the capacity to %d", got)
		}
		if !resizeAuditHas(t, r, `"resize drive"`, name, `"refused"`, "--shrink --confirm") {
			t.Error("the refused shrink is not in the audit log")
		}
		if _, _, err := resize(t, r, drive.ResizeSpec{Pool: pool, Name: name, Size: model.SizeChange{Bytes: 16 << 20}, Shrink: true, Confirm: name}); err != nil {
			t.Fatalf("confirmed shrink: %v", err)
		}
		if got := capacityOf(t, r, pool, name); got != 16<<20 {
			t.Errorf("capacity %d after the confirmed shrink, want %d", got, 16<<20)
		}
	}
}

// Another admin grows the drive with virsh between the check and the
// resize: stowage refuses (audited) rather than act on a size the admin
// never saw, and leaves the other admin's size as it is.
func TestLabResizeChangedMeanwhile(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	name := rsName("race")
	createForResize(t, r, model.DriveSpec{Host: r.env.URI, Pool: r.env.DirPool, Name: name, Size: 32 << 20, Encryption: model.EncryptNone})
	p, err := drive.PrepareResize(ctx, r.deps, drive.ResizeSpec{Pool: r.env.DirPool, Name: name, Size: model.SizeChange{Bytes: 48 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	virsh(t, "vol-resize", "--pool", r.env.DirPool, name, "40M")
	_, err = drive.Resize(ctx, r.deps, p, nil)
	if err == nil || !errors.Is(err, model.ErrNotTheSame) || !strings.Contains(err.Error(), "another admin resized it") {
		t.Fatalf("resize after another admin's: %v; want a refusal naming the change", err)
	}
	if got := capacityOf(t, r, r.env.DirPool, name); got != 40<<20 {
		t.Errorf("capacity %d, want the other admin's %d untouched", got, 40<<20)
	}
	if !resizeAuditHas(t, r, `"resize drive"`, name, `"refused"`, "changed size") {
		t.Error("the refusal is not in the audit log")
	}
}

// The librbd path live: a LUKS2 image in the VM's config reaches QEMU at
// the VM's next start (libvirt 9 cannot hot-plug it), decrypted by
// librbd. Grown through QEMU, the guest sees exactly the asked size and
// the image holds payload + header, whichever way this librbd sizes an
// image with its encryption loaded.
func TestLabResizeLibrbdLUKS2Live(t *testing.T) {
	r := newRig(t)
	name := rsName("rbd2live")
	res := createForResize(t, r, model.DriveSpec{Host: r.env.URI, Pool: r.env.RBDPool, Name: name, Size: 32 << 20,
		Encryption: model.EncryptLUKS2, AttachVM: r.env.VM, Attach: model.AttachMode{Persistent: true}})
	// Registered after the drive's removal, so it runs before it: librbd
	// refuses to remove an image the running VM still has open.
	leaveVMClean(t, r.env.VM, name)
	restartVM(t, r.env.VM)
	if got := domblkinfo(t, r.env.VM, res.Target); got != 32<<20 {
		t.Fatalf("after the start the guest sees %d bytes, want %d", got, 32<<20)
	}
	p, _, err := resize(t, r, drive.ResizeSpec{Pool: r.env.RBDPool, Name: name, Size: model.SizeChange{Bytes: 64 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Target.Open) != 1 || p.Target.Open[0].Engine != "librbd" {
		t.Errorf("openers %+v: want the VM, engine librbd", p.Target.Open)
	}
	const want = 64 << 20
	if got := domblkinfo(t, r.env.VM, res.Target); got != want {
		t.Errorf("guest sees %d bytes, want %d", got, want)
	}
	if got := capacityOf(t, r, r.env.RBDPool, name); got != want+model.LUKS2HeaderBytes {
		t.Errorf("libvirt capacity %d, want %d", got, want+model.LUKS2HeaderBytes)
	}
	if log, err := os.ReadFile(r.log); err == nil && strings.Contains(string(log), "growing it by the LUKS header") {
		t.Log("this librbd sized the image as stored; stowage grew it by the header")
	}
}

// startSharingVM starts a transient VM of this test's own with path as a
// shareable disk vdb; it is destroyed (and so gone) when the test ends.
func startSharingVM(t *testing.T, name, path string) {
	t.Helper()
	doc := fmt.Sprintf(`<domain type='kvm'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os><features><acpi/></features>
<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='%s'/>
<target dev='vdb' bus='virtio'/><shareable/></disk></devices></domain>`, name, path)
	f := filepath.Join(t.TempDir(), name+".xml")
	if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	virsh(t, "create", f)
	t.Cleanup(func() { _ = exec.Command("virsh", "destroy", name).Run() })
}

// A drive open in two running VMs is refused (one QEMU would see the new
// size, the other the old), audited, and left as it was.
func TestLabResizeRefusesTwoRunningVMs(t *testing.T) {
	r := newRig(t)
	name := rsName("shared")
	res := createForResize(t, r, model.DriveSpec{Host: r.env.URI, Pool: r.env.DirPool, Name: name, Size: 32 << 20, Encryption: model.EncryptNone})
	startSharingVM(t, name+"-a", res.Path)
	startSharingVM(t, name+"-b", res.Path)
	_, _, err := resize(t, r, drive.ResizeSpec{Pool: r.env.DirPool, Name: name, Size: model.SizeChange{Bytes: 16 << 20, Relative: true}})
	if err == nil || !strings.Contains(err.Error(), "open in 2 running VMs") || !strings.Contains(err.Error(), name+"-a") {
		t.Fatalf("resize of a drive two VMs run: %v; want a refusal naming both", err)
	}
	if got := capacityOf(t, r, r.env.DirPool, name); got != 32<<20 {
		t.Errorf("capacity %d after the refusal, want %d", got, 32<<20)
	}
	if got := domblkinfo(t, name+"-a", "vdb"); got != 32<<20 {
		t.Errorf("VM a sees %d, want %d", got, 32<<20)
	}
	if !resizeAuditHas(t, r, `"resize drive"`, name, `"refused"`, "open in 2 running VMs") {
		t.Error("the refusal is not in the audit log")
	}
}
