package drive_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"stowage/drive"
	"stowage/lab"
	"stowage/model"
)

// A QEMU-layer LUKS drive cloned to another dir pool: the clone has its
// own secret (new UUID, private, its own usage); the source's passphrase
// does not open it while its own does; decrypted, its data equals the
// source's; no passphrase reaches the audit log or stowage's log.
func TestLabCloneQEMULUKSOwnSecret(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	name, to := cloneName("luks"), cloneName("luks-clone")
	other := tempDirPool(t, r)
	src := makeDrive(t, r, r.env.DirPool, name, 16<<20, model.EncryptLUKS)
	passes := r.rand.passphrases()
	if len(passes) != 1 {
		t.Fatalf("%d passphrases drawn for the source, want 1", len(passes))
	}
	srcPass := lab.NewSecret("source passphrase", passes[0])
	srcFile := writePassFile(t, passes[0])
	// A known pattern in the source, written through its own key.
	if out, err := qemuTool(t, []*lab.Secret{srcPass}, []string{srcFile}, "qemu-io",
		"--image-opts", "driver=luks,key-secret=s0,file.filename="+src.Path, "-c", "write -P 0x5c 0 1M", "-c", "write -P 0xa7 3M 512k"); err != nil {
		t.Fatalf("write the pattern: %v\n%s", err, out)
	}

	p, res := clone(t, r, model.CloneSpec{Pool: r.env.DirPool, Name: name, ToPool: other, To: to})
	if p.Kind != model.CloneQEMULUKS {
		t.Fatalf("kind %s, want %s", p.Kind, model.CloneQEMULUKS)
	}
	passes = r.rand.passphrases()
	if len(passes) != 2 || string(passes[0]) == string(passes[1]) {
		t.Fatalf("the clone drew %d passphrases in all; want a second, different one", len(passes))
	}
	clonePass := lab.NewSecret("clone passphrase", passes[1])
	cloneFile := writePassFile(t, passes[1])
	secrets := []*lab.Secret{srcPass, clonePass}

	if res.SecretUUID == "" || res.SecretUUID == src.SecretUUID {
		t.Fatalf("clone secret %q, source %q: want a new one", res.SecretUUID, src.SecretUUID)
	}
	v, err := r.conn.Volume(ctx, other, to)
	if err != nil {
		t.Fatal(err)
	}
	if v.Encryption == nil || v.Encryption.SecretUUID != res.SecretUUID {
		t.Fatalf("clone volume encryption %+v, want secret %s", v.Encryption, res.SecretUUID)
	}
	sec, err := r.conn.Secret(ctx, res.SecretUUID)
	if err != nil || !sec.Private || sec.Ephemeral || sec.UsageID != v.Path {
		t.Errorf("clone secret %+v (%v): want private, persistent, usage %s", sec, err, v.Path)
	}
	// The source's passphrase must not open the clone.
	out, err := qemuTool(t, secrets, []string{srcFile}, "qemu-io",
		"--image-opts", "driver=luks,key-secret=s0,file.filename="+v.Path, "-c", "read 0 512")
	if err == nil || !strings.Contains(out, "Invalid password") {
		t.Errorf("the source's passphrase on the clone: %v %s; want Invalid password", err, out)
	}
	// Its own opens it, and the pattern is there.
	if out, err := qemuTool(t, secrets, []string{cloneFile}, "qemu-io",
		"--image-opts", "driver=luks,key-secret=s0,file.filename="+v.Path, "-c", "read -P 0x5c 0 1M", "-c", "read -P 0xa7 3M 512k"); err != nil || strings.Contains(out, "Pattern verification failed") {
		t.Errorf("read the pattern from the clone with its own passphrase: %v\n%s", err, out)
	}
	// Decrypted, the whole of both is equal.
	if out, err := qemuTool(t, secrets, []string{srcFile, cloneFile}, "qemu-img", "compare", "--image-opts",
		"driver=luks,key-secret=s0,file.filename="+src.Path, "driver=luks,key-secret=s1,file.filename="+v.Path); err != nil || !strings.Contains(out, "identical") {
		t.Errorf("qemu-img compare source and clone: %v\n%s", err, out)
	}
	for _, f := range []string{r.audit, r.log} {
		b, _ := os.ReadFile(f)
		for _, s := range secrets {
			if what, _, found := s.Find(b); found {
				t.Errorf("%s holds the %s (%s)", f, s, what)
			}
		}
	}
	if !auditHas(t, r, "clone volume", "ok", "") || !auditHas(t, r, "create secret", "ok", "") {
		t.Error("the clone's steps are not in the audit log")
	}
}

// A plain dir volume: libvirt copies it, data equal, no secret.
func TestLabClonePlainDir(t *testing.T) {
	r := newRig(t)
	name, to := cloneName("plain"), cloneName("plain-clone")
	src := makeDrive(t, r, r.env.DirPool, name, 8<<20, model.EncryptNone)
	if out, err := exec.Command("qemu-io", "-f", "raw", "-c", "write -P 0x3e 1M 1M", src.Path).CombinedOutput(); err != nil {
		t.Fatalf("write the pattern: %v %s", err, out)
	}
	p, res := clone(t, r, model.CloneSpec{Pool: r.env.DirPool, Name: name, To: to})
	if p.Kind != model.CloneLibvirt || res.SecretUUID != "" {
		t.Fatalf("kind %s secret %q; want a plain libvirt copy", p.Kind, res.SecretUUID)
	}
	if out, err := exec.Command("qemu-img", "compare", "-f", "raw", "-F", "raw", src.Path, res.Path).CombinedOutput(); err != nil {
		t.Errorf("compare: %v %s", err, out)
	}
}

// Plain RBD, both methods: a deep copy is independent; a clone hangs from
// a protected snapshot. Both equal the source.
func TestLabClonePlainRBD(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	name := cloneName("rbd")
	makeDrive(t, r, r.env.RBDPool, name, 8<<20, model.EncryptNone)
	keyFile, key := cephKeyFile(t, r.env)
	secrets := []*lab.Secret{key}
	base64Key := "secret,id=k,format=base64,file=" + keyFile
	if out, err := exec.Command("qemu-io", "--object", base64Key, "--image-opts", rbdOpts(r.env, name, "k"),
		"-c", "write -P 0x71 0 2M").CombinedOutput(); err != nil {
		t.Fatalf("write the pattern: %v %s", err, key.Redact(out))
	}
	cl := cephClient(t, r.env)
	for _, m := range []model.RBDCloneMethod{model.RBDMethodCopy, model.RBDMethodClone} {
		t.Run(string(m), func(t *testing.T) {
			to := cloneName("rbd-" + string(m))
			snap := model.CloneSnapshotName(to)
			if m == model.RBDMethodClone {
				// Registered before the clone's own cleanup so it runs
				// after it: the snapshot goes once its child is gone.
				t.Cleanup(func() {
					_ = exec.Command("rbd", "-c", r.env.CephConf, "-k", r.env.CephKeyring, "--id", r.env.CephUser, "snap", "unprotect", r.env.CephPool+"/"+name+"@"+snap).Run()
					_ = exec.Command("rbd", "-c", r.env.CephConf, "-k", r.env.CephKeyring, "--id", r.env.CephUser, "snap", "rm", r.env.CephPool+"/"+name+"@"+snap).Run()
				})
			}
			p, res := clone(t, r, model.CloneSpec{Pool: r.env.RBDPool, Name: name, To: to, RBDMethod: m})
			if res.SecretUUID != "" {
				t.Errorf("plain clone got secret %s", res.SecretUUID)
			}
			out, err := exec.Command("qemu-img", "compare", "--object", base64Key, "--image-opts",
				rbdOpts(r.env, name, "k"), rbdOpts(r.env, to, "k")).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "identical") {
				t.Errorf("compare: %v %s", err, key.Redact(out))
			}
			for _, s := range secrets {
				if _, _, found := s.Find(out); found {
					t.Errorf("qemu-img printed the %s", s)
				}
			}
			ids, err := cl.ImageNames(r.env.CephPool)
			if err != nil || !slices.Contains(ids, to) {
				t.Fatalf("image %s missing (%v)", to, err)
			}
			snaps := rbdAdmin(t, r.env, "snap", "ls", r.env.CephPool+"/"+name)
			if got := strings.Contains(snaps, snap); got != (m == model.RBDMethodClone) {
				t.Errorf("method %s: snapshot %s present=%v:\n%s", m, snap, got, snaps)
			}
			if m == model.RBDMethodClone {
				if info := rbdAdmin(t, r.env, "info", r.env.CephPool+"/"+to); !strings.Contains(info, "parent: "+r.env.CephPool+"/"+name+"@"+snap) {
					t.Errorf("clone has no parent snapshot:\n%s", info)
				}
				if len(p.Warnings) == 0 || !strings.Contains(p.Warnings[0], "cannot be deleted") {
					t.Errorf("no warning about the parent snapshot: %v", p.Warnings)
				}
			}
			if _, err := r.conn.Volume(ctx, r.env.RBDPool, to); err != nil {
				t.Errorf("libvirt does not list the clone: %v", err)
			}
		})
	}
}

// A librbd-LUKS2 image: re-encrypted into a new image under its own
// secret. The source's passphrase does not open the clone, its own does,
// the decrypted contents are equal (a pattern past the source's written
// extent included: QEMU's rbd block status misreports it as zeros on a
// fast-diff image), and no temporary reader, snapshot or helper domain is
// left. A copy-on-write clone of it is refused (it would share the key).
func TestLabCloneLibrbdLUKSOwnSecret(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	name, to := cloneName("rbdluks"), cloneName("rbdluks-clone")
	src := makeDrive(t, r, r.env.RBDPool, name, 48<<20, model.EncryptLUKS2)
	passes := r.rand.passphrases()
	if len(passes) != 1 {
		t.Fatalf("%d passphrases for the source, want 1", len(passes))
	}
	keyFile, key := cephKeyFile(t, r.env)
	srcPass := lab.NewSecret("source passphrase", passes[0])
	srcFile := writePassFile(t, passes[0])
	open := func(image, secretID string) string {
		return rbdOpts(r.env, image, "k") + ",encrypt.format=luks2,encrypt.key-secret=" + secretID
	}
	// qemuTool names the files s0, s1, …; the cephx key is the base64 k.
	tool := func(secrets []*lab.Secret, files []string, name string, args ...string) (string, error) {
		objs := []string{"--object", "secret,id=k,format=base64,file=" + keyFile}
		if name == "qemu-img" {
			args = append([]string{args[0]}, append(objs, args[1:]...)...)
		} else {
			args = append(objs, args...)
		}
		return qemuTool(t, append(secrets, key), files, name, args...)
	}
	if out, err := tool([]*lab.Secret{srcPass}, []string{srcFile}, "qemu-io", "--image-opts", open(name, "s0"),
		"-c", "write -P 0x4b 0 1M", "-c", "write -P 0xe1 40M 1M"); err != nil {
		t.Fatalf("write the pattern: %v\n%s", err, out)
	}
	if _, err := drive.PrepareClone(ctx, r.deps, model.CloneSpec{Pool: r.env.RBDPool, Name: name, To: to, RBDMethod: model.RBDMethodClone}); !errors.Is(err, drive.ErrSharedKey) {
		t.Errorf("copy-on-write clone of an encrypted image: %v; want refused as sharing the key", err)
	}
	p, res := clone(t, r, model.CloneSpec{Pool: r.env.RBDPool, Name: name, To: to})
	if p.Kind != model.CloneLibrbdLUKS || p.LUKSFormat != "luks2" {
		t.Fatalf("kind %s format %s", p.Kind, p.LUKSFormat)
	}
	passes = r.rand.passphrases()
	if len(passes) != 2 || string(passes[0]) == string(passes[1]) {
		t.Fatalf("%d passphrases in all; want a second, different one", len(passes))
	}
	clonePass := lab.NewSecret("clone passphrase", passes[1])
	cloneFile := writePassFile(t, passes[1])
	secrets := []*lab.Secret{srcPass, clonePass}
	if res.SecretUUID == "" || res.SecretUUID == src.SecretUUID {
		t.Fatalf("clone secret %q, source %q", res.SecretUUID, src.SecretUUID)
	}
	if uuid, ok, err := r.conn.SecretByVolumeUsage(ctx, p.TargetPath); err != nil || !ok || uuid != res.SecretUUID {
		t.Errorf("secret by the clone's usage: %q %v %v; want %s", uuid, ok, err, res.SecretUUID)
	}
	if out, err := tool(secrets, []string{srcFile}, "qemu-io", "--image-opts", open(to, "s0"), "-c", "read 0 512"); err == nil {
		t.Errorf("the source's passphrase opens the clone:\n%s", out)
	}
	if out, err := tool(secrets, []string{cloneFile}, "qemu-io", "--image-opts", open(to, "s0"),
		"-c", "read -P 0x4b 0 1M", "-c", "read -P 0xe1 40M 1M"); err != nil || strings.Contains(out, "verification failed") {
		t.Errorf("read the pattern from the clone with its own passphrase: %v\n%s", err, out)
	}
	if out, err := tool(secrets, []string{srcFile, cloneFile}, "qemu-img", "compare", "--image-opts", open(name, "s0"), open(to, "s1")); err != nil || !strings.Contains(out, "identical") {
		t.Errorf("compare source and clone decrypted: %v\n%s", err, out)
	}
	imgs, err := cephClient(t, r.env).ImageNames(r.env.CephPool)
	if err != nil || slices.Contains(imgs, model.CloneReaderName(to)) {
		t.Errorf("temporary reader left (%v)", err)
	}
	if snaps := rbdAdmin(t, r.env, "snap", "ls", r.env.CephPool+"/"+name); strings.Contains(snaps, model.CloneSnapshotName(to)) {
		t.Errorf("snapshot left:\n%s", snaps)
	}
	if doms := virsh(t, "list", "--all", "--name"); strings.Contains(doms, "stowage-reencrypt-") {
		t.Errorf("helper domain left:\n%s", doms)
	}
	for _, f := range []string{r.audit, r.log} {
		b, _ := os.ReadFile(f)
		for _, s := range secrets {
			if what, _, found := s.Find(b); found {
				t.Errorf("%s holds the %s (%s)", f, s, what)
			}
		}
	}
}

// Cloning to a name the target pool has is refused, nothing changed; the
// same for a running VM's drive is covered by checkCloneUsers' rule.
func TestLabCloneToExistingNameRefused(t *testing.T) {
	r := newRig(t)
	a, b := cloneName("exists-a"), cloneName("exists-b")
	makeDrive(t, r, r.env.DirPool, a, 4<<20, model.EncryptLUKS)
	makeDrive(t, r, r.env.DirPool, b, 4<<20, model.EncryptNone)
	before := hostState(t, r, []string{a, b}, r.env.DirPool)
	_, err := drive.PrepareClone(context.Background(), r.deps, model.CloneSpec{Pool: r.env.DirPool, Name: a, To: b})
	if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), "never overwrites") {
		t.Fatalf("clone onto an existing name: %v; want a refusal", err)
	}
	if after := hostState(t, r, []string{a, b}, r.env.DirPool); after != before {
		t.Errorf("a refused clone changed the host:\nbefore %s\nafter  %s", before, after)
	}
	if !auditHas(t, r, "clone drive", "refused", "already exists") {
		t.Error("the refusal is not in the audit log")
	}
}

// Another admin takes the name between prepare and run: the copy fails,
// the rollback removes this run's new secret and never their volume.
func TestLabCloneNameTakenInBetween(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	t.Run("dir-luks", func(t *testing.T) {
		name, to := cloneName("race"), cloneName("race-taken")
		makeDrive(t, r, r.env.DirPool, name, 4<<20, model.EncryptLUKS)
		p, err := drive.PrepareClone(ctx, r.deps, model.CloneSpec{Pool: r.env.DirPool, Name: name, To: to})
		if err != nil {
			t.Fatal(err)
		}
		virsh(t, "vol-create-as", r.env.DirPool, to, "1M", "--format", "raw")
		removeDriveLater(t, r, r.env.DirPool, to, "")
		theirs, err := r.conn.Volume(ctx, r.env.DirPool, to)
		if err != nil {
			t.Fatal(err)
		}
		res, err := drive.Clone(ctx, r.deps, p, nil)
		if err == nil {
			removeDriveLater(t, r, r.env.DirPool, to, res.SecretUUID)
			t.Fatal("clone onto a name taken in between succeeded")
		}
		now, err2 := r.conn.Volume(ctx, r.env.DirPool, to)
		if err2 != nil || now.Key != theirs.Key || now.Capacity != theirs.Capacity {
			t.Errorf("the other admin's volume: %+v (%v); want it untouched (%+v)", now, err2, theirs)
		}
		if _, ok, _ := r.conn.SecretByVolumeUsage(ctx, p.TargetPath); ok {
			t.Error("this run's new secret was left behind")
		}
		if !auditHas(t, r, "undo create secret", "ok", "") {
			t.Error("the rollback of the secret is not in the audit log")
		}
	})
	t.Run("rbd", func(t *testing.T) {
		name, to := cloneName("race-rbd"), cloneName("race-rbd-taken")
		makeDrive(t, r, r.env.RBDPool, name, 4<<20, model.EncryptNone)
		p, err := drive.PrepareClone(ctx, r.deps, model.CloneSpec{Pool: r.env.RBDPool, Name: name, To: to})
		if err != nil {
			t.Fatal(err)
		}
		rbdAdmin(t, r.env, "create", "--size", "1M", r.env.CephPool+"/"+to)
		t.Cleanup(func() {
			_ = exec.Command("rbd", "-c", r.env.CephConf, "-k", r.env.CephKeyring, "--id", r.env.CephUser, "rm", r.env.CephPool+"/"+to).Run()
		})
		cl := cephClient(t, r.env)
		theirs, err := cl.ImageID(r.env.CephPool, to)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := drive.Clone(ctx, r.deps, p, nil); err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("deep copy onto a name taken in between: %v; want already exists", err)
		}
		if now, err := cl.ImageID(r.env.CephPool, to); err != nil || now != theirs {
			t.Errorf("the other admin's image: id %q (%v), want %q untouched", now, err, theirs)
		}
	})
}

// A drive attached to a running VM is not copied (the copy would be torn
// while the guest writes): refused, saying what to do, nothing changed.
func TestLabCloneOfARunningVMsDriveRefused(t *testing.T) {
	r := newRig(t)
	name, to := cloneName("running"), cloneName("running-clone")
	leaveVMClean(t, r.env.VM, name)
	src := makeDrive(t, r, r.env.DirPool, name, 4<<20, model.EncryptNone)
	virsh(t, "attach-disk", r.env.VM, src.Path, "vdx", "--live", "--targetbus", "virtio")
	before := hostState(t, r, []string{name, to}, r.env.DirPool)
	_, err := drive.PrepareClone(context.Background(), r.deps, model.CloneSpec{Pool: r.env.DirPool, Name: name, To: to})
	if err == nil || !strings.Contains(err.Error(), "running VM") || !strings.Contains(err.Error(), "shut the VM down") {
		t.Fatalf("clone of a running VM's drive: %v; want a refusal saying why and what to do", err)
	}
	if after := hostState(t, r, []string{name, to}, r.env.DirPool); after != before {
		t.Errorf("a refused clone changed the host:\nbefore %s\nafter  %s", before, after)
	}
	if !auditHas(t, r, "clone drive", "refused", "running VM") {
		t.Error("the refusal is not in the audit log")
	}
}

// A failure after the re-encrypting copy rolls back everything this run
// made (the temporary reader, the snapshot, the new image, the new
// secret), each by its identity, and leaves the source as it was.
func TestLabCloneLibrbdLUKSRollback(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	name, to := cloneName("rbdluks-rb"), cloneName("rbdluks-rb-clone")
	makeDrive(t, r, r.env.RBDPool, name, 8<<20, model.EncryptLUKS2)
	cl := cephClient(t, r.env)
	srcID, err := cl.ImageID(r.env.CephPool, name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := drive.PrepareClone(ctx, r.deps, model.CloneSpec{Pool: r.env.RBDPool, Name: name, To: to})
	if err != nil {
		t.Fatal(err)
	}
	d := r.deps
	d.FailAfter = model.StepReencrypt
	res, err := drive.Clone(ctx, d, p, nil)
	removeDriveLater(t, r, r.env.RBDPool, to, res.SecretUUID)
	if err == nil || !strings.Contains(err.Error(), "injected failure") || !strings.Contains(err.Error(), "nothing left") {
		t.Fatalf("clone with a failure after the copy: %v; want it rolled back with nothing left", err)
	}
	r.assertNothingLeft(t, r.env.RBDPool, to, p.TargetPath, "")
	imgs, err := cl.ImageNames(r.env.CephPool)
	if err != nil || slices.Contains(imgs, model.CloneReaderName(to)) {
		t.Errorf("temporary reader left (%v)", err)
	}
	if snaps := rbdAdmin(t, r.env, "snap", "ls", r.env.CephPool+"/"+name); strings.Contains(snaps, model.CloneSnapshotName(to)) {
		t.Errorf("snapshot left:\n%s", snaps)
	}
	if now, err := cl.ImageID(r.env.CephPool, name); err != nil || now != srcID {
		t.Errorf("the source changed: id %q (%v), was %q", now, err, srcID)
	}
	for _, undo := range []string{"undo clone rbd image", "undo protected rbd snapshot", "undo create rbd image", "undo create secret"} {
		if !auditHas(t, r, undo, "ok", "") {
			t.Errorf("%q is not in the audit log", undo)
		}
	}
}
