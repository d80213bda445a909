package benchenc

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stowage/drive"
	"stowage/plan"
)

// fixedRand gives the same bytes every time: a known name and passphrase.
type fixedRand struct{}

func (fixedRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0x5a
	}
	return len(p), nil
}

func testDeps(t *testing.T, x *fakeExec, st *fakeStorage) (Deps, string) {
	t.Helper()
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	return Deps{Exec: x, Storage: st, Rand: fixedRand{}, Runner: plan.Runner{Host: "qemu:///system", Audit: plan.NewAudit(audit)}}, audit
}

func TestRunMeasuresEveryWorkloadAndRemovesTheImages(t *testing.T) {
	x := &fakeExec{runTime: map[Format]string{Plain: "0.500", QEMULUKS: "1.000", LibrbdLUKS2: "0.625"}}
	st := newFakeStorage(Plain, QEMULUKS, LibrbdLUKS2)
	d, audit := testDeps(t, x, st)
	o := Options{Size: 32 * mib, Runs: 3, RandomOps: 1024}
	res, err := Run(context.Background(), d, o)
	if err != nil {
		t.Fatal(err)
	}
	if left := st.left(); len(left) > 0 {
		t.Errorf("images left behind: %v", left)
	}
	if len(st.created) != 3 {
		t.Fatalf("created %v, want 3 images", st.created)
	}
	for _, w := range Workloads {
		k := w.Key + "_" + w.Unit()
		for _, f := range st.formats {
			fig := res.Figures[k][f]
			if len(fig.Runs) != 3 || fig.Median <= 0 {
				t.Errorf("%s %s: %+v, want 3 runs and a positive median", k, f, fig)
			}
		}
	}
	// 32 requests of 1 MiB in 0.5 s.
	if got := res.Figures["seq_read_1m_qd8_mib_s"][Plain].Median; got != 64 {
		t.Errorf("plain 1M QD8 read = %v MiB/s, want 64", got)
	}
	if got := res.Ratios["qemu_luks_vs_plain_seq_read_1m_qd8_pct"]; math.Abs(got+50) > 1e-9 {
		t.Errorf("QEMU LUKS ratio = %v, want -50", got)
	}
	if got := res.Ratios["librbd_luks2_vs_plain_rand_read_4k_qd16_pct"]; math.Abs(got+20) > 1e-9 {
		t.Errorf("librbd ratio = %v, want -20", got)
	}
	if _, ok := res.UnlockS[QEMULUKS]; !ok {
		t.Errorf("no unlock time for QEMU LUKS: %v", res.UnlockS)
	}
	if x.daemons != 9 {
		t.Errorf("%d daemons started, want one per image per run (9)", x.daemons)
	}
	b, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	for _, want := range []string{`"action":"bench: create scratch image"`, `"action":"undo bench: create scratch image"`} {
		if strings.Count(log, want) != 3 {
			t.Errorf("audit log has %d %s, want 3:\n%s", strings.Count(log, want), want, log)
		}
	}
	if strings.Contains(log, `"result":"failed"`) {
		t.Errorf("audit log has a failure:\n%s", log)
	}
}

// The passphrase and the cephx key reach QEMU as files (pipes), never on
// its command line.
func TestSecretsNeverOnArgv(t *testing.T) {
	x := &fakeExec{}
	st := newFakeStorage(Plain, QEMULUKS)
	d, _ := testDeps(t, x, st)
	if _, err := Run(context.Background(), d, Options{Size: 16 * mib, Runs: 1, RandomOps: 16}); err != nil {
		t.Fatal(err)
	}
	pass, _ := drivePassphrase()
	for i, argv := range x.argv {
		joined := strings.Join(argv, " ")
		if strings.Contains(joined, string(pass)) || strings.Contains(joined, "cephx-key") {
			t.Errorf("a secret is on argv: %q", joined)
		}
		if argv[0] == "bench" {
			continue
		}
		if len(x.files[i]) != 2 || !bytes.Equal(x.files[i][0], pass) || string(x.files[i][1]) != "cephx-key" {
			t.Errorf("call %q got files %q, want the passphrase then the key", joined, x.files[i])
		}
		if !strings.Contains(joined, "file=/dev/fd/3") {
			t.Errorf("call %q reads no secret from /dev/fd/3", joined)
		}
	}
}

func TestRunCancelledAfterTheFirstCreateLeavesNothing(t *testing.T) {
	x := &fakeExec{}
	st := newFakeStorage(Plain, QEMULUKS, LibrbdLUKS2)
	d, _ := testDeps(t, x, st)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan plan.Event)
	d.Runner.Events = events
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, d, Options{Size: 16 * mib, Runs: 1, RandomOps: 16})
		close(events)
		done <- err
	}()
	for ev := range events {
		if ev.Kind == plan.StepDone && ev.Index == 0 {
			cancel()
		}
	}
	err := <-done
	if !errors.Is(err, plan.ErrCancelled) {
		t.Fatalf("err = %v, want cancelled", err)
	}
	if len(st.created) == 0 {
		t.Fatal("nothing was created: the test proves nothing")
	}
	if left := st.left(); len(left) > 0 {
		t.Errorf("images left behind: %v", left)
	}
	if x.daemons != 0 {
		t.Errorf("%d daemons started after the cancel", x.daemons)
	}
}

func TestRunBenchFailureRemovesTheImages(t *testing.T) {
	x := &fakeExec{failOn: QEMULUKS}
	st := newFakeStorage(Plain, QEMULUKS)
	d, _ := testDeps(t, x, st)
	_, err := Run(context.Background(), d, Options{Size: 16 * mib, Runs: 1, RandomOps: 16})
	if err == nil || !strings.Contains(err.Error(), "I/O error") {
		t.Fatalf("err = %v, want the bench's failure", err)
	}
	if left := st.left(); len(left) > 0 {
		t.Errorf("images left behind: %v", left)
	}
}

func TestRunCreateFailureUndoesTheFirst(t *testing.T) {
	x := &fakeExec{}
	st := newFakeStorage(Plain, QEMULUKS)
	st.failCreate = QEMULUKS
	d, _ := testDeps(t, x, st)
	_, err := Run(context.Background(), d, Options{Size: 16 * mib, Runs: 1, RandomOps: 16})
	if err == nil || !strings.Contains(err.Error(), "create refused") {
		t.Fatalf("err = %v, want the create's failure", err)
	}
	if left := st.left(); len(left) > 0 || len(st.created) != 1 {
		t.Errorf("created %v, left %v: want the plain image made and removed", st.created, left)
	}
}

func TestRunNamesWhatItCouldNotRemove(t *testing.T) {
	st := newFakeStorage(Plain, QEMULUKS)
	st.failRemove = true
	d, _ := testDeps(t, &fakeExec{}, st)
	_, err := Run(context.Background(), d, Options{Size: 16 * mib, Runs: 1, RandomOps: 16})
	if err == nil {
		t.Fatal("no error although the images could not be removed")
	}
	for _, n := range st.created {
		if !strings.Contains(err.Error(), "fake-rm "+n) {
			t.Errorf("error does not name the command that removes %s: %v", n, err)
		}
	}
}

func TestRunRefusesAnExistingName(t *testing.T) {
	st := newFakeStorage(Plain, QEMULUKS)
	st.images[NamePrefix+"5a5a5a5a-plain"] = true
	d, audit := testDeps(t, &fakeExec{}, st)
	_, err := Run(context.Background(), d, Options{Size: 16 * mib, Runs: 1, RandomOps: 16})
	if err == nil || !strings.Contains(err.Error(), "left alone") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if !st.images[NamePrefix+"5a5a5a5a-plain"] || len(st.created) > 0 {
		t.Error("the existing image was touched, or something was created")
	}
	if b, _ := os.ReadFile(audit); !bytes.Contains(b, []byte(`"result":"refused"`)) {
		t.Errorf("refusal not audited: %s", b)
	}
}

func TestCreateLUKSRetriesQEMUsBenchmarkFailure(t *testing.T) {
	x := &fakeExec{failLUKS: 2}
	var cleanups, retries int
	err := CreateLUKS(context.Background(), x, "/pool/img", 16*mib, [][]byte{[]byte("p")},
		func() error { cleanups++; return nil }, func(attempt, of int, cause error) { retries++ })
	if err != nil {
		t.Fatal(err)
	}
	if cleanups != 2 || retries != 2 || len(x.calls) != 3 {
		t.Errorf("cleanups %d, retries %d, calls %v: want 2, 2 and 3 creates", cleanups, retries, x.calls)
	}
}

// Another failure of qemu-img (the name taken by another admin, say)
// removes nothing: only a benchmark failure follows an image qemu-img made.
func TestCreateLUKSRemovesNothingAfterAnotherFailure(t *testing.T) {
	x := &fakeExec{failWith: errors.New("qemu-img: rbd create: File exists")}
	cleanups := 0
	err := CreateLUKS(context.Background(), x, "/pool/img", 16*mib, [][]byte{[]byte("p")},
		func() error { cleanups++; return nil }, nil)
	if err == nil || cleanups != 0 {
		t.Fatalf("err %v, cleanups %d: want the error and no removal", err, cleanups)
	}
}

// drivePassphrase is the passphrase Run makes from fixedRand.
func drivePassphrase() ([]byte, error) { return drive.NewPassphrase(fixedRand{}) }
