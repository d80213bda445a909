package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"stowage/connect"
	"stowage/drive"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
)

// wfHangGuard only turns a hang into a failure.
const wfHangGuard = 3 * time.Minute

func wfVirsh(t *testing.T, uri string, args ...string) string {
	t.Helper()
	out, err := exec.Command("virsh", append([]string{"-q", "-c", uri}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("virsh %v: %v: %s", args, err, out)
	}
	return string(out)
}

// wfObjects says whether the volume and a secret of that usage exist,
// as virsh sees them.
func wfObjects(t *testing.T, uri, pool, name, usage string) (vol, secret bool) {
	t.Helper()
	vols := wfVirsh(t, uri, "vol-list", pool)
	for _, l := range strings.Split(vols, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			vol = true
		}
	}
	return vol, strings.Contains(wfVirsh(t, uri, "secret-list"), usage)
}

// wfRun runs a workflow with an unbuffered event channel; on is called
// with every event before the workflow may go on (the runner waits for
// the event to be taken), so on acts at an exact point of the plan.
func wfRun(t *testing.T, run func(ev chan<- drive.Event) (drive.Result, error), on func(drive.Event)) (drive.Result, []drive.Event, error) {
	t.Helper()
	ev := make(chan drive.Event)
	type out struct {
		r   drive.Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		r, err := run(ev)
		close(ev)
		done <- out{r, err}
	}()
	var seen []drive.Event
	timeout := time.After(wfHangGuard)
	for {
		select {
		case e, ok := <-ev:
			if !ok {
				o := <-done
				return o.r, seen, o.err
			}
			seen = append(seen, e)
			on(e)
		case <-timeout:
			t.Fatalf("the workflow did not end within %s", wfHangGuard)
		}
	}
}

func wfStateHome(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
}

// A console refresh cancelled during a create cuts the console session's
// socket (that is what a cancelled call does). The create runs on a
// connection of its own, so it completes; virsh shows its volume and
// secret, and a delete (again on its own connection) removes both.
func TestLabRefreshCancelledDuringCreate(t *testing.T) {
	env := lab.Need(t)
	wfStateHome(t)
	ctx := context.Background()
	sessions := connect.New([]string{env.URI}, libvirtx.Options{Timeout: 15 * time.Second}, libvirtx.DefaultBackoff)
	defer sessions.Close()
	e := consoleEnv(t, []string{env.URI}, cfgNone, true, nil, 15*time.Second)
	b := driveBackend{uri: env.URI, connect: sessions.Conn, own: e.OwnDial, env: e}
	name := fmt.Sprintf("t-wf-refresh-%d", os.Getpid())
	p, err := b.Prepare(ctx, model.DriveSpec{Host: env.URI, Pool: env.DirPool, Name: name, Size: 16 << 20,
		Encryption: model.EncryptLUKS, Cipher: model.RecommendedCipher})
	if err != nil {
		t.Fatal(err)
	}
	shared, err := sessions.Conn(ctx, env.URI)
	if err != nil {
		t.Fatal(err)
	}
	cut := false
	res, _, err := wfRun(t, func(ev chan<- drive.Event) (drive.Result, error) { return b.Create(ctx, p, ev) }, func(e drive.Event) {
		if e.Kind != drive.StepStarted || e.Step.ID != model.StepCreateVolume || cut {
			return
		}
		// The refresh the admin's navigation cancelled.
		rctx, cancel := context.WithCancel(ctx)
		cancel()
		parts := make(chan model.Part)
		go func() {
			for range parts {
			}
		}()
		_ = sessions.Stream(rctx, 0, model.StreamOptions{}, parts)
		close(parts)
		select {
		case <-shared.Disconnected():
			cut = true
		case <-time.After(wfHangGuard):
			t.Error("the cancelled refresh did not cut the console's connection; the test proves nothing")
		}
	})
	if !cut {
		t.Fatal("no create-volume step was seen")
	}
	if err != nil {
		t.Fatalf("the create failed after the console's connection was cut: %v", err)
	}
	t.Cleanup(func() {
		_ = exec.Command("virsh", "-c", env.URI, "vol-delete", "--pool", env.DirPool, name).Run()
		if res.SecretUUID != "" {
			_ = exec.Command("virsh", "-c", env.URI, "secret-undefine", res.SecretUUID).Run()
		}
	})
	vol, sec := wfObjects(t, env.URI, env.DirPool, name, res.Path)
	if !vol || !sec || res.SecretUUID == "" {
		t.Fatalf("after the create: volume %v, secret %v (%q); want both", vol, sec, res.SecretUUID)
	}

	if _, _, err := wfRun(t, func(ev chan<- drive.Event) (drive.Result, error) { return b.Delete(ctx, env.DirPool, name, ev) }, func(drive.Event) {}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if vol, sec := wfObjects(t, env.URI, env.DirPool, name, res.Path); vol || sec {
		t.Fatalf("after the delete: volume %v, secret %v; want neither", vol, sec)
	}
}

// privateDrive prepares a LUKS drive on a private libvirtd (a session
// daemon of the test's own, so freezing it disturbs nobody).
func privateDrive(t *testing.T, callTimeout time.Duration) (*lab.Libvirtd, driveBackend, drive.Prepared, string) {
	t.Helper()
	d := lab.StartLibvirtd(t)
	wfStateHome(t)
	pool := "t-wf-pool"
	wfVirsh(t, d.URI(), "pool-define-as", pool, "dir", "--target", d.PoolDir())
	wfVirsh(t, d.URI(), "pool-start", pool)
	e := consoleEnv(t, []string{d.URI()}, cfgNone, true, nil, callTimeout)
	b := driveBackend{uri: d.URI(), connect: e.Connector.Conn, own: e.OwnDial, env: e}
	p, err := b.Prepare(context.Background(), model.DriveSpec{Host: d.URI(), Pool: pool, Name: "t-wf-d1", Size: 16 << 20,
		Encryption: model.EncryptLUKS, Cipher: model.RecommendedCipher})
	if err != nil {
		t.Fatal(err)
	}
	return d, b, p, pool
}

// libvirtd stops answering (SIGSTOP) during the verify step: the step ends
// by its deadline, the socket is cut; the daemon runs again (SIGCONT)
// before the rollback, which redials and removes the volume and the
// secret. virsh shows neither.
func TestLabLibvirtdStoppedMidWorkflowRollbackRedials(t *testing.T) {
	d, b, p, pool := privateDrive(t, 3*time.Second)
	frozen := false
	_, seen, err := wfRun(t, func(ev chan<- drive.Event) (drive.Result, error) { return b.Create(context.Background(), p, ev) }, func(e drive.Event) {
		switch {
		case e.Kind == drive.StepStarted && e.Step.ID == model.StepVerify:
			d.Freeze()
			frozen = true
		case e.Kind == drive.StepFailed && frozen:
			d.Thaw()
			frozen = false
		}
	})
	if err == nil {
		t.Fatal("the create succeeded although libvirtd was stopped during verify")
	}
	if !errors.Is(err, libvirtx.ErrTimeout) {
		t.Errorf("err = %v; want the step's deadline (ErrTimeout)", err)
	}
	undone := 0
	for _, e := range seen {
		switch e.Kind {
		case drive.StepUndone:
			undone++
		case drive.UndoFailed, drive.UndoKept:
			t.Errorf("undo of %s: %v (%s)", e.Step.Title, e.Err, e.Note)
		}
	}
	if undone != 2 {
		t.Errorf("%d steps undone; want the volume and the secret", undone)
	}
	if vol, sec := wfObjects(t, d.URI(), pool, "t-wf-d1", p.VolumePath); vol || sec {
		t.Fatalf("after the rollback: volume %v, secret %v; want neither (err: %v)", vol, sec, err)
	}
}

// libvirtd stays stopped through the rollback: the undos cannot redial,
// and what is left is named with the commands that remove it. Once the
// daemon runs again, virsh shows exactly those objects.
func TestLabLibvirtdStoppedThroughRollbackNamesLeftovers(t *testing.T) {
	d, b, p, pool := privateDrive(t, 2*time.Second)
	_, seen, err := wfRun(t, func(ev chan<- drive.Event) (drive.Result, error) { return b.Create(context.Background(), p, ev) }, func(e drive.Event) {
		if e.Kind == drive.StepStarted && e.Step.ID == model.StepVerify {
			d.Freeze()
		}
	})
	d.Thaw()
	if err == nil {
		t.Fatal("the create succeeded although libvirtd was stopped")
	}
	failed := 0
	for _, e := range seen {
		if e.Kind == drive.UndoFailed {
			failed++
			if !strings.Contains(e.Note, "virsh") {
				t.Errorf("undo failure without a command: %q", e.Note)
			}
		}
	}
	msg := err.Error()
	if failed != 2 || !strings.Contains(msg, "vol-delete") || !strings.Contains(msg, "secret-undefine") {
		t.Fatalf("%d undo failures; err: %v; want the volume and the secret named with their commands", failed, err)
	}
	if vol, sec := wfObjects(t, d.URI(), pool, "t-wf-d1", p.VolumePath); !vol || !sec {
		t.Fatalf("the leftovers named are not what exists: volume %v, secret %v", vol, sec)
	}
}
