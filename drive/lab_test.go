//go:build !noceph

package drive_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"stowage/ceph"
	"stowage/drive"
	"stowage/model"
)

// dir pool, QEMU-layer LUKS: create, qemu-img opens it with the generated
// passphrase, live+persistent attach carries the encryption, detach,
// delete, nothing left.
func TestLabDirLUKSEndToEnd(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	name := uniq("dir")
	leaveVMClean(t, r.env.VM, name)
	spec := model.DriveSpec{Host: r.env.URI, Pool: r.env.DirPool, Name: name, Size: 32 << 20,
		Encryption: model.EncryptLUKS, Cipher: model.RecommendedCipher, AttachVM: r.env.VM,
		Attach: model.AttachMode{Live: true, Persistent: true}}
	p, err := drive.Prepare(ctx, r.deps, spec)
	if err != nil {
		t.Fatal(err)
	}
	collect, events := drain(make(chan drive.Event, 256))
	res, err := drive.Create(ctx, r.deps, p, events)
	evs := collect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.conn.DeleteVolume(context.Background(), r.env.DirPool, name)
		_ = r.conn.UndefineSecret(context.Background(), res.SecretUUID)
	})
	var bar bool
	for _, e := range evs {
		bar = bar || (e.Kind == drive.StepProgress && e.Total == 32<<20)
	}
	if !bar {
		t.Error("no allocation progress reported for the volume step")
	}
	pass := r.rand.passphrases()
	if len(pass) != 1 {
		t.Fatalf("%d passphrases drawn, want 1", len(pass))
	}
	pf := writePassFile(t, pass[0])
	// The passphrase reaches qemu-img through a file object, never argv.
	out, err := exec.Command("qemu-img", "info", "--object", "secret,id=s0,file="+pf,
		"--image-opts", "driver=luks,key-secret=s0,file.filename="+res.Path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "encrypted: yes") || !strings.Contains(string(out), "33554432 bytes") {
		t.Fatalf("qemu-img info with the generated passphrase: %v\n%s", err, out)
	}
	sec, err := r.conn.Secret(ctx, res.SecretUUID)
	if err != nil || !sec.Private || sec.Ephemeral || sec.UsageType != "volume" || sec.UsageID != res.Path || !strings.Contains(sec.Description, name) {
		t.Errorf("secret %+v, %v", sec, err)
	}
	if _, err := r.conn.SecretValue(ctx, res.SecretUUID); err == nil {
		t.Error("libvirt hands out the drive's secret value: it is not private")
	}
	for _, inactive := range []bool{false, true} {
		d, err := r.conn.Domain(ctx, r.env.VM, inactive)
		if err != nil {
			t.Fatal(err)
		}
		if !hasEncryptedDisk(d, res.Target, res.SecretUUID) {
			t.Errorf("inactive=%v: %s has no disk %s with secret %s: %+v", inactive, r.env.VM, res.Target, res.SecretUUID, d.Disks)
		}
	}
	if _, err := drive.Delete(ctx, r.deps, r.env.DirPool, name, nil); err == nil || !strings.Contains(err.Error(), "running VM") {
		t.Errorf("delete of an attached drive: %v; want a refusal", err)
	}
	dres, err := drive.Detach(ctx, r.deps, r.env.VM, res.Target, model.AttachMode{Live: true, Persistent: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := r.conn.Domain(ctx, r.env.VM, true); hasDisk(d, res.Target) {
		t.Errorf("disk still in the persistent config after detach")
	}
	if d, _ := r.conn.Domain(ctx, r.env.VM, false); hasDisk(d, res.Target) {
		// The lab VM has no guest OS to acknowledge the ACPI unplug, so
		// stowage must say the unplug is pending; a restart finishes it.
		if len(dres.Notes) == 0 || !strings.Contains(dres.Notes[0], "has not yet released") {
			t.Errorf("live disk still there but the result does not say so: %+v", dres)
		}
		restartVM(t, r.env.VM)
	}
	if _, err := drive.Delete(ctx, r.deps, r.env.DirPool, name, nil); err != nil {
		t.Fatal(err)
	}
	r.assertNothingLeft(t, r.env.DirPool, name, res.Path, r.env.VM)
}

func hasDisk(d model.Domain, target string) bool {
	for _, k := range d.Disks {
		if k.Target == target {
			return true
		}
	}
	return false
}

func hasEncryptedDisk(d model.Domain, target, secret string) bool {
	for _, k := range d.Disks {
		if k.Target == target && k.Encryption != nil && k.Encryption.SecretUUID == secret {
			return true
		}
	}
	return false
}

// rbd pool, LUKS2 through librbd: a LUKS2 header at offset 0, the image
// grown by 16 MiB, a private secret; persistent attach, VM restart, QEMU's
// rbd node carries "encrypt"; then delete leaves nothing.
func TestLabRBDLUKS2ColdPath(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	name := uniq("rbd")
	usage := r.env.CephPool + "/" + name
	leaveVMClean(t, r.env.VM, usage)
	spec := model.DriveSpec{Host: r.env.URI, Pool: r.env.RBDPool, Name: name, Size: 32 << 20,
		Encryption: model.EncryptLUKS2, AttachVM: r.env.VM, Attach: model.AttachMode{Live: true, Persistent: true}}
	if _, err := drive.Prepare(ctx, r.deps, spec); !errors.Is(err, drive.ErrNeedsChoice) {
		t.Fatalf("live attach of a librbd disk on libvirt 9.0: %v; want the admin asked to choose", err)
	}
	spec.Fallback = model.FallbackNextStart
	p, err := drive.Prepare(ctx, r.deps, spec)
	if err != nil {
		t.Fatal(err)
	}
	res, err := drive.Create(ctx, r.deps, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.conn.DeleteVolume(context.Background(), r.env.RBDPool, name)
		_ = r.conn.UndefineSecret(context.Background(), res.SecretUUID)
	})
	cl, err := ceph.Connect(ctx, ceph.Config{ConfFile: r.env.CephConf, User: r.env.CephUser, Keyring: r.env.CephKeyring})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	head, err := cl.ReadImageHead(r.env.CephPool, name, 8)
	if err != nil || drive.LUKSVersion(head) != 2 {
		t.Errorf("image head %q, %v; want a LUKS2 header", head, err)
	}
	if size, err := cl.ImageSize(r.env.CephPool, name); err != nil || size != 32<<20+model.LUKS2HeaderBytes {
		t.Errorf("image size %d, %v; want 32 MiB + 16 MiB header", size, err)
	}
	if sec, err := r.conn.Secret(ctx, res.SecretUUID); err != nil || !sec.Private || sec.UsageID != usage {
		t.Errorf("secret %+v, %v", sec, err)
	}
	restartVM(t, r.env.VM)
	pid, err := os.ReadFile(filepath.Join("/run/libvirt/qemu", r.env.VM+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	cmdline, err := os.ReadFile(filepath.Join("/proc", strings.TrimSpace(string(pid)), "cmdline"))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`"image":"%s"`, name)
	found := false
	for _, arg := range bytes.Split(cmdline, []byte{0}) {
		if bytes.Contains(arg, []byte(want)) && bytes.Contains(arg, []byte(`"driver":"rbd"`)) {
			found = bytes.Contains(arg, []byte(`"encrypt":{"format":"luks2"`))
		}
	}
	if !found {
		t.Errorf("QEMU's rbd node for %s carries no librbd encrypt option", name)
	}
	// Off, out of the config, on again: the lab VM ends as it began.
	virsh(t, "destroy", r.env.VM)
	if _, err := drive.Detach(ctx, r.deps, r.env.VM, res.Target, model.AttachMode{Persistent: true}, nil); err != nil {
		t.Fatal(err)
	}
	virsh(t, "start", r.env.VM)
	if _, err := drive.Delete(ctx, r.deps, r.env.RBDPool, name, nil); err != nil {
		t.Fatal(err)
	}
	r.assertNothingLeft(t, r.env.RBDPool, name, usage, r.env.VM)
}

// A failure injected after each step leaves no volume, image, secret or
// disk (persistent attach: the lab VM cannot release a live disk).
func TestLabRollbackAfterEachStep(t *testing.T) {
	r := newRig(t)
	for _, base := range []model.DriveSpec{
		{Pool: r.env.DirPool, Encryption: model.EncryptLUKS, Size: 16 << 20},
		{Pool: r.env.RBDPool, Encryption: model.EncryptLUKS1, Size: 16 << 20},
	} {
		base.PoolType = model.PoolDir
		if base.Pool == r.env.RBDPool {
			base.PoolType = model.PoolRBD
		}
		base.AttachVM, base.Attach = r.env.VM, model.AttachMode{Persistent: true}
		for _, st := range model.CreatePlan(base) {
			t.Run(string(base.PoolType)+"/"+string(st.ID), func(t *testing.T) {
				ctx := context.Background()
				spec := base
				spec.Name = uniq("rb")
				pool, _ := r.conn.Pool(ctx, spec.Pool)
				usage := model.SecretUsage(pool.Type, filepath.Join(pool.TargetPath, spec.Name), pool.SourceName, spec.Name)
				leaveVMClean(t, r.env.VM, spec.Name)
				d := r.deps
				d.FailAfter = st.ID
				p, err := drive.Prepare(ctx, d, spec)
				if err != nil {
					t.Fatal(err)
				}
				collect, events := drain(make(chan drive.Event, 256))
				_, err = drive.Create(ctx, d, p, events)
				evs := collect()
				if err == nil || !strings.Contains(err.Error(), "injected failure") || !strings.Contains(err.Error(), "nothing left") {
					t.Fatalf("err = %v", err)
				}
				undone := 0
				for _, e := range evs {
					if e.Kind == drive.StepUndone {
						undone++
					}
				}
				if st.ID != model.StepVerify && st.ID != model.StepFormatLUKS && undone == 0 {
					t.Error("no step reported as undone")
				}
				r.assertNothingLeft(t, spec.Pool, spec.Name, usage, r.env.VM)
			})
		}
	}
}

// Ctrl+C while librbd formats: the format finishes (it cannot be aborted),
// then the image and the secret are removed on a connection that is still
// open (a cancelled call context would have closed it).
func TestLabCancelDuringFormat(t *testing.T) {
	r := newRig(t)
	name := uniq("cancel")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := drive.Prepare(ctx, r.deps, model.DriveSpec{Pool: r.env.RBDPool, Name: name, Size: 16 << 20, Encryption: model.EncryptLUKS1})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan drive.Event)
	go func() {
		for e := range events {
			if e.Kind == drive.StepStarted && e.Step.ID == model.StepFormatLUKS {
				cancel()
			}
		}
	}()
	_, err = drive.Create(ctx, r.deps, p, events)
	close(events)
	if !errors.Is(err, drive.ErrCancelled) || !strings.Contains(err.Error(), "nothing left") {
		t.Fatalf("err = %v; want cancelled and fully rolled back", err)
	}
	r.assertNothingLeft(t, r.env.RBDPool, name, r.env.CephPool+"/"+name, "")
}
