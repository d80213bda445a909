//go:build !noceph

package drive_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/drive"
	"stowage/lab"
	"stowage/model"
)

// leakCase is one drive workflow run for a leak check, with the exact
// passphrase it will use: Deps.Rand is a reader of 32 known random bytes
// (one passphrase; a second draw would fail the workflow).
type leakCase struct {
	r      *labRig
	raw    []byte
	secret *lab.Secret
	g      *lab.Guarded
	procs  *lab.ProcWatch
	events []drive.Event
	res    drive.Result
	err    error
}

func newLeakCase(t *testing.T) *leakCase {
	r := newRig(t)
	raw := make([]byte, drive.PassphraseEntropy)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	pass := []byte(base64.RawURLEncoding.EncodeToString(raw)) // the workflow's encoding of them
	c := &leakCase{r: r, raw: raw, secret: lab.NewSecret("the drive's passphrase", pass, raw)}
	c.g = lab.Guard(t, c.secret)
	r.deps.Rand = bytes.NewReader(raw)
	return c
}

// create prepares and runs spec with d, cancelling the context when step
// cancelAt starts (none when empty), while watching every process.
func (c *leakCase) create(d drive.Deps, spec model.DriveSpec, cancelAt model.StepID) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := drive.Prepare(ctx, d, spec)
	if err != nil {
		c.g.Fatalf("prepare: %v", err)
	}
	events := make(chan drive.Event)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range events {
			c.events = append(c.events, e)
			if cancelAt != "" && e.Kind == drive.StepStarted && e.Step.ID == cancelAt {
				cancel()
			}
		}
	}()
	c.procs = lab.WatchProcesses(2 * time.Millisecond)
	c.res, c.err = drive.Create(ctx, d, p, events)
	close(events)
	<-done
	c.procs.Stop()
}

// assertNoLeak searches everything the run produced.
func (c *leakCase) assertNoLeak(t *testing.T) {
	t.Helper()
	s, g := c.secret, c.g
	if c.err != nil {
		s.AssertAbsent(g, "the returned error", []byte(c.err.Error()))
	}
	s.AssertAbsent(g, "the result", []byte(fmt.Sprintf("%+v", c.res)))
	for i, e := range c.events {
		b := []byte(fmt.Sprintf("%+v %s", e, e.Note))
		if e.Err != nil {
			b = append(b, e.Err.Error()...)
		}
		s.AssertAbsent(g, fmt.Sprintf("event %d", i), b)
	}
	for _, f := range []string{c.r.audit, c.r.log} {
		b, err := os.ReadFile(f)
		if err != nil || len(b) == 0 {
			g.Errorf("%s: %v (empty: its check would prove nothing)", f, err)
		}
		s.AssertAbsent(g, f, b)
	}
	c.procs.AssertAbsent(g, c.secret)
	if n, _ := c.r.deps.Rand.(*bytes.Reader); n != nil && n.Len() != 0 {
		g.Errorf("%d of the 32 random bytes were not drawn: the passphrase searched for is not the one used", n.Len())
	}
}

// TestLabLeakPassphraseLibrbd: a LUKS2 drive on the rbd pool (formatted by
// librbd in this process, its secret handed to libvirt, the disk put in
// the VM's config with <encryption engine='librbd'>), detached and
// deleted. The passphrase is in no event, error, result, audit or log
// line, process argv or environment, libvirt XML, or test output.
func TestLabLeakPassphraseLibrbd(t *testing.T) {
	c := newLeakCase(t)
	r, g := c.r, c.g
	name := uniq("leak-rbd")
	usage := r.env.CephPool + "/" + name
	leaveVMClean(t, r.env.VM, usage)
	t.Cleanup(func() { _ = r.conn.DeleteVolume(context.Background(), r.env.RBDPool, name) })
	c.create(r.deps, model.DriveSpec{Host: r.env.URI, Pool: r.env.RBDPool, Name: name, Size: 16 << 20,
		Encryption: model.EncryptLUKS2, AttachVM: r.env.VM, Attach: model.AttachMode{Persistent: true}}, "")
	if c.err != nil {
		g.Fatalf("create: %v", c.err)
	}
	t.Cleanup(func() { _ = r.conn.UndefineSecret(context.Background(), c.res.SecretUUID) })
	// The passphrase did its work: the image holds a LUKS2 header (so the
	// check is of a real librbd format, not of a step that never ran).
	var xmls [][]byte
	for _, args := range [][]string{{"dumpxml", r.env.VM, "--inactive"}, {"secret-dumpxml", c.res.SecretUUID}} {
		out, err := exec.Command("virsh", args...).Output()
		if err != nil {
			g.Fatalf("virsh %v: %v", args, err)
		}
		xmls = append(xmls, out)
		c.secret.AssertAbsent(g, "virsh "+strings.Join(args, " "), out)
	}
	if !bytes.Contains(xmls[0], []byte("engine='librbd'")) {
		g.Error("the VM's config has no librbd-encrypted disk: the librbd path did not run")
	}
	if _, err := drive.Detach(context.Background(), r.deps, r.env.VM, c.res.Target, model.AttachMode{Persistent: true}, nil); err != nil {
		g.Fatal(err)
	}
	if _, err := drive.Delete(context.Background(), r.deps, r.env.RBDPool, name, nil); err != nil {
		g.Fatal(err)
	}
	r.assertNothingLeft(t, r.env.RBDPool, name, usage, r.env.VM)
	c.assertNoLeak(t)
}

// TestLabLeakPassphraseRollback: a failure injected (Deps.FailAfter) once
// the passphrase has been used, on the dir pool (after qemu-img wrote the
// LUKS header) and on the rbd pool (after librbd formatted LUKS2); the
// rollback removes everything and nothing it says carries the passphrase.
func TestLabLeakPassphraseRollback(t *testing.T) {
	for _, tc := range []struct {
		pool  func(lab.Env) string
		enc   model.DriveEncryption
		after model.StepID
	}{
		{func(e lab.Env) string { return e.DirPool }, model.EncryptLUKS, model.StepCreateVolume},
		{func(e lab.Env) string { return e.RBDPool }, model.EncryptLUKS2, model.StepFormatLUKS},
	} {
		t.Run(string(tc.enc)+"/"+string(tc.after), func(t *testing.T) {
			c := newLeakCase(t)
			r := c.r
			pool := tc.pool(r.env)
			name := uniq("leak-rb")
			d := r.deps
			d.FailAfter = tc.after
			c.create(d, model.DriveSpec{Host: r.env.URI, Pool: pool, Name: name, Size: 16 << 20, Encryption: tc.enc}, "")
			if c.err == nil || !strings.Contains(c.err.Error(), "injected failure") || !strings.Contains(c.err.Error(), "nothing left") {
				c.g.Fatalf("err = %v; want the injected failure, rolled back", c.err)
			}
			c.assertRolledBack(t, pool, name)
			c.assertNoLeak(t)
		})
	}
}

// TestLabLeakPassphraseCancel: the context is cancelled while the step
// that uses the passphrase runs (qemu-img on the dir pool, librbd's format
// on the rbd pool); the step ends, everything is removed, and nothing
// said carries the passphrase.
func TestLabLeakPassphraseCancel(t *testing.T) {
	for _, tc := range []struct {
		pool func(lab.Env) string
		enc  model.DriveEncryption
		at   model.StepID
	}{
		{func(e lab.Env) string { return e.DirPool }, model.EncryptLUKS, model.StepCreateVolume},
		{func(e lab.Env) string { return e.RBDPool }, model.EncryptLUKS2, model.StepFormatLUKS},
	} {
		t.Run(string(tc.enc)+"/"+string(tc.at), func(t *testing.T) {
			c := newLeakCase(t)
			r := c.r
			pool := tc.pool(r.env)
			name := uniq("leak-cancel")
			c.create(r.deps, model.DriveSpec{Host: r.env.URI, Pool: pool, Name: name, Size: 16 << 20, Encryption: tc.enc}, tc.at)
			if !errors.Is(c.err, drive.ErrCancelled) || !strings.Contains(c.err.Error(), "nothing left") {
				c.g.Fatalf("err = %v; want cancelled and fully rolled back", c.err)
			}
			c.assertRolledBack(t, pool, name)
			c.assertNoLeak(t)
		})
	}
}

// assertRolledBack checks that the step using the passphrase really ran
// (qemu-img seen, or librbd's format step done) before the rollback, and
// that nothing is left.
func (c *leakCase) assertRolledBack(t *testing.T, pool, name string) {
	t.Helper()
	r := c.r
	p, err := r.conn.Pool(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	usage := filepath.Join(p.TargetPath, name)
	if p.Type == model.PoolRBD {
		usage = p.SourceName + "/" + name
		// The audit log records the format's own outcome (an injected
		// failure or a cancel comes after it).
		audit, err := os.ReadFile(r.audit)
		if err != nil {
			t.Fatal(err)
		}
		formatted := false
		for _, line := range bytes.Split(bytes.TrimSpace(audit), []byte("\n")) {
			var rec drive.Record
			if json.Unmarshal(line, &rec) == nil && strings.HasPrefix(rec.Action, "format luks") && rec.Result == "ok" {
				formatted = true
			}
		}
		if !formatted {
			c.g.Error("the audit log has no successful librbd format: the passphrase was not used, so the check proves little")
		}
	} else if !c.procs.Saw("qemu-img", name) {
		c.g.Error("the process watch never saw qemu-img writing the LUKS header: its check proves nothing")
	}
	r.assertNothingLeft(t, pool, name, usage, "")
}
