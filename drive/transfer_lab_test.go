package drive_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/drive"
	"stowage/libvirtx"
	"stowage/model"
)

// txRig is the lab rig on a connection of the test's own that redials: a
// cancelled stream cuts its connection (libvirtx/transfer.go).
func txRig(t *testing.T) *labRig {
	t.Helper()
	r := newRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := libvirtx.DialOwned(ctx, r.env.URI, libvirtx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r.deps.Libvirt = c
	return r
}

func txName(what string) string { return fmt.Sprintf("t-tx-%s-%d", what, time.Now().UnixNano()) }

// txVolume creates a raw volume of size in pool, removed with the test.
func (r *labRig) txVolume(t *testing.T, pool, what string, size uint64) model.Volume {
	t.Helper()
	name := txName(what)
	v, err := r.conn.CreateVolume(context.Background(), pool, model.VolumeSpec{Name: name, Capacity: size, Format: "raw"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.conn.DeleteVolume(context.Background(), pool, name) })
	return v
}

func randomFile(t *testing.T, size int) (string, [32]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.bin")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, int64(size)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return path, sum
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// auditHas reports whether the audit log has a record of action on an
// object containing obj with result.
func (r *labRig) auditHas(t *testing.T, action, obj, result string) bool {
	t.Helper()
	b, err := os.ReadFile(r.audit)
	if err != nil {
		return false
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		var rec drive.Record
		if json.Unmarshal(l, &rec) == nil && rec.Action == action && strings.Contains(rec.Object, obj) && rec.Result == result {
			return true
		}
	}
	return false
}

func (r *labRig) download(t *testing.T, pool, name, file string) (drive.TransferResult, []drive.Event, error) {
	t.Helper()
	ctx := context.Background()
	p, err := drive.PrepareDownload(ctx, r.deps, pool, name, file)
	if err != nil {
		return drive.TransferResult{}, nil, err
	}
	collect, ev := drain(make(chan drive.Event, 64))
	res, err := drive.Download(ctx, r.deps, p, ev)
	return res, collect(), err
}

// Upload a random file into a dir volume, download it, compare; wipe
// with zeros and download zeros.
func TestLabTransferDirRoundTrip(t *testing.T) {
	r := txRig(t)
	ctx := context.Background()
	const size = 64 << 20
	v := r.txVolume(t, r.env.DirPool, "rt", size)
	in, sum := randomFile(t, size)

	p, err := drive.PrepareUpload(ctx, r.deps, r.env.DirPool, v.Name, in)
	if err != nil {
		t.Fatal(err)
	}
	collect, ev := drain(make(chan drive.Event, 64))
	up, err := drive.Upload(ctx, r.deps, p, ev)
	events := collect()
	if err != nil {
		t.Fatal(err)
	}
	if up.Bytes != size {
		t.Errorf("uploaded %d bytes, want %d", up.Bytes, size)
	}
	var last drive.Event
	for _, e := range events {
		if e.Kind == drive.StepProgress {
			last = e
		}
	}
	if last.Total != size || last.Done != size {
		t.Errorf("last progress %d/%d, want %d/%d", last.Done, last.Total, size, size)
	}
	t.Logf("upload: %d bytes in %.2fs, %.1f MiB/s", up.Bytes, up.Seconds, up.MiBPerSec)

	out := filepath.Join(t.TempDir(), "out.bin")
	down, _, err := r.download(t, r.env.DirPool, v.Name, out)
	if err != nil {
		t.Fatal(err)
	}
	if fileSum(t, out) != sum {
		t.Fatal("downloaded file differs from the uploaded one")
	}
	t.Logf("download: %d bytes in %.2fs, %.1f MiB/s", down.Bytes, down.Seconds, down.MiBPerSec)

	w, err := drive.PrepareWipe(ctx, r.deps, r.env.DirPool, v.Name, "zero")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drive.Wipe(ctx, r.deps, w, nil); err != nil {
		t.Fatal(err)
	}
	zeros := filepath.Join(t.TempDir(), "zeros.bin")
	if _, _, err := r.download(t, r.env.DirPool, v.Name, zeros); err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(h, zeroReader{}, size); err != nil {
		t.Fatal(err)
	}
	var zsum [32]byte
	copy(zsum[:], h.Sum(nil))
	if fileSum(t, zeros) != zsum {
		t.Error("after a zero wipe the volume does not read as zeros")
	}
	for _, a := range []string{"upload volume", "download volume", "wipe volume zero"} {
		if !r.auditHas(t, a, v.Name, "ok") {
			t.Errorf("audit has no ok record of %q", a)
		}
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// The rbd backend of libvirt 9.0 streams nothing: refused with the rbd
// command to use. It wipes with zero (checked with rbd export) and
// refuses the other algorithms but trim.
func TestLabTransferRBD(t *testing.T) {
	r := txRig(t)
	ctx := context.Background()
	v := r.txVolume(t, r.env.RBDPool, "rbd", 8<<20)
	in, _ := randomFile(t, 4<<20)
	rbd := func(args ...string) ([]byte, error) {
		base := []string{"-c", r.env.CephConf, "--id", r.env.CephUser, "--keyring", r.env.CephKeyring}
		return exec.Command("rbd", append(base, args...)...).CombinedOutput()
	}
	image := r.env.CephPool + "/" + v.Name
	if out, err := rbd("bench", "--io-type", "write", "--io-size", "1M", "--io-total", "8M", "--io-pattern", "seq", image); err != nil {
		t.Fatalf("rbd bench (fill the image): %v: %s", err, out)
	}

	_, err := drive.PrepareUpload(ctx, r.deps, r.env.RBDPool, v.Name, in)
	if err == nil || !strings.Contains(err.Error(), "rbd import") {
		t.Errorf("upload into rbd: %v, want a refusal naming rbd import", err)
	}
	out := filepath.Join(t.TempDir(), "out.bin")
	_, err = drive.PrepareDownload(ctx, r.deps, r.env.RBDPool, v.Name, out)
	if err == nil || !strings.Contains(err.Error(), "rbd export") {
		t.Errorf("download from rbd: %v, want a refusal naming rbd export", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("refused download left %s: %v", out, err)
	}
	if _, err := drive.PrepareWipe(ctx, r.deps, r.env.RBDPool, v.Name, "gutmann"); err == nil || !strings.Contains(err.Error(), "zero or trim only") {
		t.Errorf("gutmann on rbd: %v, want zero or trim only", err)
	}
	if !r.auditHas(t, "upload volume", v.Name, "refused") || !r.auditHas(t, "wipe volume", v.Name, "refused") {
		t.Error("refusals not in the audit log")
	}

	w, err := drive.PrepareWipe(ctx, r.deps, r.env.RBDPool, v.Name, "zero")
	if err != nil {
		t.Fatal(err)
	}
	if w.Stamp.ImageID == "" {
		t.Error("rbd wipe: no Ceph image id in the identity")
	}
	if _, err := drive.Wipe(ctx, r.deps, w, nil); err != nil {
		t.Fatal(err)
	}
	exp := filepath.Join(t.TempDir(), "exp.bin")
	if o, err := rbd("export", "--no-progress", image, exp); err != nil {
		t.Fatalf("rbd export: %v: %s", err, o)
	}
	b, err := os.ReadFile(exp)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 8<<20 || !bytes.Equal(b, make([]byte, len(b))) {
		t.Errorf("after a zero wipe the image is not %d zero bytes (got %d bytes)", 8<<20, len(b))
	}
}

// stateOf is what a refusal must leave unchanged: the volume's identity
// and its bytes.
func (r *labRig) stateOf(t *testing.T, pool, name string) string {
	t.Helper()
	v, st, err := r.conn.VolumeStamp(context.Background(), pool, name)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%+v %x", st, fileSum(t, v.Path))
}

// Each refusal says why and changes nothing: a drive a defined (stopped)
// VM uses, a file larger than the drive, an existing download target, an
// encrypted drive to upload into, a bad algorithm.
func TestLabTransferRefusals(t *testing.T) {
	r := txRig(t)
	ctx := context.Background()
	used := r.txVolume(t, r.env.DirPool, "used", 4<<20)
	vm := txName("vm")
	xml := filepath.Join(t.TempDir(), "vm.xml")
	writeFile(t, xml, "<domain type='qemu'><name>"+vm+"</name><memory unit='MiB'>32</memory>"+
		"<os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>"+
		"<source file='"+used.Path+"'/><target dev='vdb' bus='virtio'/></disk></devices></domain>")
	virsh(t, "define", xml)
	t.Cleanup(func() { _ = exec.Command("virsh", "undefine", vm).Run() })

	small := r.txVolume(t, r.env.DirPool, "small", 1<<20)
	big, _ := randomFile(t, 1<<20+1)
	existing := filepath.Join(t.TempDir(), "exists.bin")
	writeFile(t, existing, "keep me")

	spec := model.DriveSpec{Host: r.env.URI, Pool: r.env.DirPool, Name: txName("luks"), Size: 8 << 20, Format: "raw", Encryption: model.EncryptLUKS}
	p, err := drive.Prepare(ctx, r.deps, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drive.Create(ctx, r.deps, p, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = drive.Delete(context.Background(), r.deps, r.env.DirPool, spec.Name, nil) })
	small4, _ := randomFile(t, 4096)

	cases := []struct {
		name, pool, vol string
		try             func() error
		msg             string
	}{
		{"in-use-wipe", r.env.DirPool, used.Name, func() error {
			_, err := drive.PrepareWipe(ctx, r.deps, r.env.DirPool, used.Name, "zero")
			return err
		}, "in use by [" + vm + ":vdb"},
		{"in-use-upload", r.env.DirPool, used.Name, func() error {
			_, err := drive.PrepareUpload(ctx, r.deps, r.env.DirPool, used.Name, small4)
			return err
		}, "detach it first"},
		{"in-use-download", r.env.DirPool, used.Name, func() error {
			_, err := drive.PrepareDownload(ctx, r.deps, r.env.DirPool, used.Name, filepath.Join(t.TempDir(), "x"))
			return err
		}, "in use by"},
		{"too-big", r.env.DirPool, small.Name, func() error {
			_, err := drive.PrepareUpload(ctx, r.deps, r.env.DirPool, small.Name, big)
			return err
		}, "larger than the volume's capacity 1.0 MiB"},
		{"existing-target", r.env.DirPool, small.Name, func() error {
			_, err := drive.PrepareDownload(ctx, r.deps, r.env.DirPool, small.Name, existing)
			return err
		}, "exists: stowage never overwrites a file"},
		{"encrypted-upload", r.env.DirPool, spec.Name, func() error {
			_, err := drive.PrepareUpload(ctx, r.deps, r.env.DirPool, spec.Name, small4)
			return err
		}, "is encrypted (LUKS"},
		{"trim-on-dir", r.env.DirPool, small.Name, func() error {
			_, err := drive.PrepareWipe(ctx, r.deps, r.env.DirPool, small.Name, "trim")
			return err
		}, "does not trim"},
		{"bad-algorithm", r.env.DirPool, small.Name, func() error {
			_, err := drive.PrepareWipe(ctx, r.deps, r.env.DirPool, small.Name, "shred")
			return err
		}, "use zero, nnsa, dod"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := r.stateOf(t, c.pool, c.vol)
			err := c.try()
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v, want a refusal containing %q", err, c.msg)
			}
			if after := r.stateOf(t, c.pool, c.vol); after != before {
				t.Errorf("refusal changed the volume: %s -> %s", before, after)
			}
		})
	}
	if b, err := os.ReadFile(existing); err != nil || string(b) != "keep me" {
		t.Errorf("existing download target changed: %q %v", b, err)
	}
	// An encrypted drive may be wiped (crypto-erase), and the
	// confirmation says so.
	w, err := drive.PrepareWipe(ctx, r.deps, r.env.DirPool, spec.Name, "zero")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(w.Warnings, "\n"), "crypto-erased") {
		t.Errorf("wipe of an encrypted drive does not say crypto-erased: %q", w.Warnings)
	}
	// It downloads as ciphertext, and says so.
	ct := filepath.Join(t.TempDir(), "ct.bin")
	res, _, err := r.download(t, r.env.DirPool, spec.Name, ct)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 6)
	if f, err := os.Open(ct); err == nil {
		_, _ = io.ReadFull(f, head)
		f.Close()
	}
	if !bytes.Equal(head, drive.LUKSMagic) || !strings.Contains(strings.Join(res.Notes, "\n"), "ciphertext") {
		t.Errorf("encrypted download: head %q, notes %q; want the LUKS header and a note saying ciphertext", head, res.Notes)
	}
	if !r.auditHas(t, "upload volume", spec.Name, "refused") || !r.auditHas(t, "wipe volume", used.Name, "refused") {
		t.Error("refusals missing from the audit log")
	}
}

// Cancelling mid-download removes the partial file this run created, and
// nothing else: not a file beside it, not the volume.
func TestLabTransferCancelDownload(t *testing.T) {
	r := txRig(t)
	const size = 512 << 20
	v := r.txVolume(t, r.env.DirPool, "cancel", size)
	dir := t.TempDir()
	beside := filepath.Join(dir, "beside.bin")
	writeFile(t, beside, "stay")
	out := filepath.Join(dir, "partial.bin")
	p, err := drive.PrepareDownload(context.Background(), r.deps, r.env.DirPool, v.Name, out)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev := make(chan drive.Event, 64)
	var events []drive.Event
	done := make(chan struct{})
	go func() {
		for e := range ev {
			events = append(events, e)
			if e.Kind == drive.StepProgress && e.Done > 0 && e.Done < size {
				if _, err := os.Stat(out); err != nil {
					t.Errorf("partial file not there mid-download: %v", err)
				}
				cancel()
			}
		}
		close(done)
	}()
	_, err = drive.Download(ctx, r.deps, p, ev)
	close(ev)
	<-done
	if !errors.Is(err, drive.ErrCancelled) {
		t.Fatalf("got %v, want ErrCancelled", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial file %s left: %v", out, err)
	}
	if b, err := os.ReadFile(beside); err != nil || string(b) != "stay" {
		t.Errorf("file beside the download changed: %q %v", b, err)
	}
	undone := false
	for _, e := range events {
		undone = undone || (e.Kind == drive.StepUndone && strings.Contains(e.Note, out))
	}
	if !undone {
		t.Error("no StepUndone event naming the partial file")
	}
	if _, err := r.conn.Volume(context.Background(), r.env.DirPool, v.Name); err != nil {
		t.Errorf("volume gone after a cancelled download: %v", err)
	}
	// The connection is usable again (it redials after the cut).
	if _, err := r.deps.Libvirt.Pool(context.Background(), r.env.DirPool); err != nil {
		t.Errorf("after the cut: %v", err)
	}
}

// Another admin deletes the drive and creates one of the same name between
// the confirmation and the run: every action refuses, their volume is
// untouched, and the download leaves no file.
func TestLabTransferSecondAdmin(t *testing.T) {
	r := txRig(t)
	ctx := context.Background()
	v := r.txVolume(t, r.env.DirPool, "swap", 4<<20)
	in, _ := randomFile(t, 1<<20)
	up, err := drive.PrepareUpload(ctx, r.deps, r.env.DirPool, v.Name, in)
	if err != nil {
		t.Fatal(err)
	}
	wp, err := drive.PrepareWipe(ctx, r.deps, r.env.DirPool, v.Name, "zero")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.bin")
	dp, err := drive.PrepareDownload(ctx, r.deps, r.env.DirPool, v.Name, out)
	if err != nil {
		t.Fatal(err)
	}
	virsh(t, "vol-delete", "--pool", r.env.DirPool, v.Name)
	virsh(t, "vol-create-as", r.env.DirPool, v.Name, "4M", "--format", "raw")
	// Their volume holds data of theirs.
	theirs, _ := randomFile(t, 4<<20)
	virsh(t, "vol-upload", "--pool", r.env.DirPool, v.Name, theirs)
	before := r.stateOf(t, r.env.DirPool, v.Name)

	runs := map[string]func() error{
		"upload":   func() error { _, err := drive.Upload(ctx, r.deps, up, nil); return err },
		"wipe":     func() error { _, err := drive.Wipe(ctx, r.deps, wp, nil); return err },
		"download": func() error { _, err := drive.Download(ctx, r.deps, dp, nil); return err },
	}
	for name, run := range runs {
		err := run()
		if !errors.Is(err, model.ErrNotTheSame) || !strings.Contains(err.Error(), "not the one confirmed") {
			t.Errorf("%s after the swap: %v, want a refusal (not the one confirmed)", name, err)
		}
	}
	if after := r.stateOf(t, r.env.DirPool, v.Name); after != before {
		t.Errorf("their volume changed: %s -> %s", before, after)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("refused download left %s: %v", out, err)
	}
}

// Cancelling mid-upload stops the stream and says how much of the drive
// was overwritten; the call returns, and the connection serves again.
func TestLabTransferCancelUpload(t *testing.T) {
	r := txRig(t)
	const size = 256 << 20
	v := r.txVolume(t, r.env.DirPool, "upcancel", size)
	in, _ := randomFile(t, size)
	p, err := drive.PrepareUpload(context.Background(), r.deps, r.env.DirPool, v.Name, in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev := make(chan drive.Event, 64)
	done := make(chan struct{})
	go func() {
		for e := range ev {
			if e.Kind == drive.StepProgress && e.Done > 0 && e.Done < size {
				cancel()
			}
		}
		close(done)
	}()
	start := time.Now()
	res, err := drive.Upload(ctx, r.deps, p, ev)
	close(ev)
	<-done
	t.Logf("cancelled upload returned after %s, %d bytes moved: %v", time.Since(start), res.Bytes, err)
	if !errors.Is(err, drive.ErrCancelled) || !strings.Contains(err.Error(), "were overwritten") {
		t.Fatalf("got %v, want ErrCancelled saying how much was overwritten", err)
	}
	if res.Bytes == 0 || res.Bytes >= size {
		t.Errorf("moved %d bytes; want part of %d", res.Bytes, size)
	}
	if _, err := r.deps.Libvirt.Pool(context.Background(), r.env.DirPool); err != nil {
		t.Errorf("after the cut: %v", err)
	}
}

// A VM that starts using the drive after the confirmation stops the run:
// the in-use check is made again right before libvirt acts.
func TestLabTransferInUseAtRun(t *testing.T) {
	r := txRig(t)
	ctx := context.Background()
	v := r.txVolume(t, r.env.DirPool, "late", 4<<20)
	in, _ := randomFile(t, 1<<20)
	virsh(t, "vol-upload", "--pool", r.env.DirPool, v.Name, in)
	w, err := drive.PrepareWipe(ctx, r.deps, r.env.DirPool, v.Name, "zero")
	if err != nil {
		t.Fatal(err)
	}
	vm := txName("vm")
	xml := filepath.Join(t.TempDir(), "vm.xml")
	writeFile(t, xml, "<domain type='qemu'><name>"+vm+"</name><memory unit='MiB'>32</memory>"+
		"<os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>"+
		"<source file='"+v.Path+"'/><target dev='vdb' bus='virtio'/></disk></devices></domain>")
	virsh(t, "define", xml)
	t.Cleanup(func() { _ = exec.Command("virsh", "undefine", vm).Run() })
	before := r.stateOf(t, r.env.DirPool, v.Name)
	if _, err := drive.Wipe(ctx, r.deps, w, nil); err == nil || !strings.Contains(err.Error(), "in use by ["+vm+":vdb") {
		t.Fatalf("wipe of a drive a VM took meanwhile: %v", err)
	}
	if after := r.stateOf(t, r.env.DirPool, v.Name); after != before {
		t.Errorf("the drive changed: %s -> %s", before, after)
	}
}
