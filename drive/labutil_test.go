package drive_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"stowage/ceph"
	"stowage/drive"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
)

// recordingRand passes crypto/rand through and remembers what it gave, so
// a test knows the passphrase without reading a private secret.
type recordingRand struct {
	mu  sync.Mutex
	got []byte
}

func (r *recordingRand) Read(p []byte) (int, error) {
	n, err := rand.Read(p)
	r.mu.Lock()
	r.got = append(r.got, p[:n]...)
	r.mu.Unlock()
	return n, err
}

// passphrases returns every passphrase drawn so far (32 bytes each, as
// the workflow encodes them).
func (r *recordingRand) passphrases() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]byte
	for i := 0; i+drive.PassphraseEntropy <= len(r.got); i += drive.PassphraseEntropy {
		out = append(out, []byte(base64.RawURLEncoding.EncodeToString(r.got[i:i+drive.PassphraseEntropy])))
	}
	return out
}

type labRig struct {
	env   lab.Env
	conn  *libvirtx.Conn
	deps  drive.Deps
	rand  *recordingRand
	audit string
	log   string
}

func newRig(t *testing.T) *labRig {
	t.Helper()
	env := lab.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := libvirtx.Dial(ctx, env.URI, libvirtx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	dir := t.TempDir()
	r := &labRig{env: env, conn: c, rand: &recordingRand{},
		audit: filepath.Join(dir, "audit.jsonl"), log: filepath.Join(dir, "stowage.log")}
	lf, err := os.Create(r.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lf.Close() })
	r.deps = drive.Deps{Libvirt: c, Host: env.URI, Audit: drive.NewAudit(r.audit), Rand: r.rand,
		Log: slog.New(slog.NewTextHandler(lf, nil)), DetachWait: time.Second,
		Ceph: func(ctx context.Context, p model.Pool) (drive.Ceph, error) {
			return ceph.Connect(ctx, ceph.Config{ConfFile: env.CephConf, User: env.CephUser, Keyring: env.CephKeyring, Timeout: 20 * time.Second})
		}}
	return r
}

func uniq(prefix string) string { return fmt.Sprintf("t-drives-%s-%d", prefix, time.Now().UnixNano()) }

func virsh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("virsh", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("virsh %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// restartVM forces the lab VM off and starts it again: the lab VM has no
// guest OS to acknowledge a live unplug, so this is how a test clears a
// live disk (and how a persistent disk reaches QEMU).
func restartVM(t *testing.T, vm string) {
	t.Helper()
	if strings.TrimSpace(virsh(t, "domstate", vm)) == "running" {
		virsh(t, "destroy", vm)
	}
	virsh(t, "start", vm)
}

// leaveVMClean is registered by tests that touch the lab VM: whatever
// happened, the VM ends running with none of this test's disks.
func leaveVMClean(t *testing.T, vm string, sources ...string) {
	t.Cleanup(func() {
		dirty := false
		for _, inactive := range []bool{true, false} {
			args := []string{"dumpxml", vm}
			if inactive {
				args = append(args, "--inactive")
			}
			out, _ := exec.Command("virsh", args...).Output()
			for _, s := range sources {
				if s != "" && bytes.Contains(out, []byte(s)) {
					dirty = true
				}
			}
		}
		if !dirty {
			if st, _ := exec.Command("virsh", "domstate", vm).Output(); strings.TrimSpace(string(st)) == "running" {
				return
			}
		}
		// Off first, then the config, then start: nothing live survives.
		_ = exec.Command("virsh", "destroy", vm).Run()
		for _, dev := range diskTargetsOf(vm, sources) {
			_ = exec.Command("virsh", "detach-disk", vm, dev, "--config").Run()
		}
		if err := exec.Command("virsh", "start", vm).Run(); err != nil {
			t.Errorf("could not start %s again: %v", vm, err)
		}
	})
}

func diskTargetsOf(vm string, sources []string) []string {
	d, err := libvirtxDomain(vm, true)
	if err != nil {
		return nil
	}
	var out []string
	for _, k := range d.Disks {
		for _, s := range sources {
			if s != "" && strings.Contains(k.Source, s) {
				out = append(out, k.Target)
			}
		}
	}
	return out
}

func libvirtxDomain(vm string, inactive bool) (model.Domain, error) {
	args := []string{"dumpxml", vm}
	if inactive {
		args = append(args, "--inactive")
	}
	out, err := exec.Command("virsh", args...).Output()
	if err != nil {
		return model.Domain{}, err
	}
	return libvirtx.DomainFromXML(string(out))
}

// assertNothingLeft checks libvirt and Ceph for every trace of a drive.
func (r *labRig) assertNothingLeft(t *testing.T, pool, name, usage, vm string) {
	t.Helper()
	ctx := context.Background()
	names, err := r.conn.VolumeNames(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(names, name) {
		t.Errorf("volume %s/%s left behind", pool, name)
	}
	if _, ok, err := r.conn.SecretByVolumeUsage(ctx, usage); err != nil || ok {
		t.Errorf("secret for %s left behind (%v)", usage, err)
	}
	if strings.Contains(usage, "/") && !strings.HasPrefix(usage, "/") {
		cl, err := ceph.Connect(ctx, ceph.Config{ConfFile: r.env.CephConf, User: r.env.CephUser, Keyring: r.env.CephKeyring})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		imgs, err := cl.ImageNames(r.env.CephPool)
		if err != nil || slices.Contains(imgs, name) {
			t.Errorf("RBD image %s left behind (%v)", name, err)
		}
	}
	if vm == "" {
		return
	}
	for _, inactive := range []bool{false, true} {
		d, err := libvirtxDomain(vm, inactive)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range d.Disks {
			if strings.Contains(k.Source, name) {
				t.Errorf("disk %s (%s) left in %s (inactive=%v)", k.Target, k.Source, vm, inactive)
			}
		}
	}
}

func drain(events chan drive.Event) (func() []drive.Event, chan<- drive.Event) {
	var out []drive.Event
	done := make(chan struct{})
	go func() {
		for e := range events {
			out = append(out, e)
		}
		close(done)
	}()
	return func() []drive.Event { close(events); <-done; return out }, events
}

func writePassFile(t *testing.T, pass []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(f, pass, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

var _ = io.EOF

func osWriteFile(p string, b []byte) error { return os.WriteFile(p, b, 0o600) }
