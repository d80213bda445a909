//go:build !noceph

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"stowage/benchenc"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/plan"
)

// benchLeftovers lists every stowage-bench- image in the lab's Ceph pool
// (with the rbd CLI, as the pool's user) or file in its dir pool.
func benchLeftovers(t *testing.T, env lab.Env, kind string) []string {
	t.Helper()
	var names []string
	switch kind {
	case "rbd":
		out, err := exec.Command("rbd", "-c", env.CephConf, "-k", env.CephKeyring, "--id", env.CephUser, "ls", env.CephPool).CombinedOutput()
		if err != nil {
			t.Fatalf("rbd ls: %v: %s", err, out)
		}
		names = strings.Fields(string(out))
	case "dir":
		ctx := context.Background()
		conn, err := libvirtx.Dial(ctx, env.URI, libvirtx.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		p, err := conn.Pool(ctx, env.DirPool)
		if err != nil {
			t.Fatal(err)
		}
		ents, err := os.ReadDir(p.TargetPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			names = append(names, e.Name())
		}
	}
	var left []string
	for _, n := range names {
		if strings.HasPrefix(n, benchenc.NamePrefix) {
			left = append(left, n)
		}
	}
	return left
}

// benchLabOptions keep the lab tests quick: the creates (PBKDF) dominate.
var benchLabOptions = benchenc.Options{Size: 16 << 20, Runs: 1, RandomOps: 256}

// The command in quick mode on the lab's rbd and dir pools: every figure
// is there and positive, and no scratch image is left.
func TestBenchEncryptionLab(t *testing.T) {
	env := lab.Need(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for kind, pool := range map[string]string{"rbd": env.RBDPool, "dir": env.DirPool} {
		t.Run(kind, func(t *testing.T) {
			var out, errb bytes.Buffer
			f := benchFlags{uri: env.URI, pool: pool, json: true}
			if rc := benchEncryption(context.Background(), f, benchLabOptions, &out, &errb, nil); rc != 0 {
				t.Fatalf("rc %d:\n%s", rc, errb.String())
			}
			var res benchenc.Result
			if err := json.Unmarshal(out.Bytes(), &res); err != nil {
				t.Fatalf("JSON: %v\n%s", err, out.String())
			}
			want := 2
			if kind == "rbd" {
				want = 3
			}
			if len(res.Formats) != want || res.PoolType != kind {
				t.Fatalf("formats %v on %s, want %d", res.Formats, res.PoolType, want)
			}
			for _, w := range benchenc.Workloads {
				for _, fm := range res.Formats {
					if fig := res.Figures[w.Key+"_"+w.Unit()][fm]; fig.Median <= 0 || len(fig.Runs) != 1 {
						t.Errorf("%s %s: %+v, want a positive figure", w.Key, fm, fig)
					}
				}
			}
			for _, fm := range res.Formats {
				if res.CreateS[fm] <= 0 || res.OpenS[fm].Median <= 0 {
					t.Errorf("%s: create %v s, open %+v: want positive times", fm, res.CreateS[fm], res.OpenS[fm])
				}
				if _, ok := res.UnlockS[fm]; fm != benchenc.Plain && !ok {
					t.Errorf("%s: no unlock time", fm)
				}
			}
			if left := benchLeftovers(t, env, kind); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
			if !strings.Contains(errb.String(), "undone: create") {
				t.Errorf("progress does not show the removals:\n%s", errb.String())
			}
		})
	}
}

// Cancelled as soon as the first image exists (on its create's event, not
// after a sleep): the run stops, and nothing is left.
func TestBenchEncryptionLabCancelLeavesNothing(t *testing.T) {
	env := lab.Need(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	// On the rbd pool, where undo has the most to do (three images, a
	// Ceph connection); the dir pool's files go by the same runner.
	for kind, pool := range map[string]string{"rbd": env.RBDPool} {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			created := 0
			onEvent := func(ev plan.Event) {
				if ev.Kind == plan.StepDone && ev.Step.ID != "" {
					created++
					cancel()
				}
			}
			var out, errb bytes.Buffer
			f := benchFlags{uri: env.URI, pool: pool}
			rc := benchEncryption(ctx, f, benchLabOptions, &out, &errb, onEvent)
			if rc != 1 || !strings.Contains(errb.String(), "cancelled") {
				t.Fatalf("rc %d, want 1 and a cancel:\n%s", rc, errb.String())
			}
			if created == 0 {
				t.Fatal("no image was created before the cancel: the test proves nothing")
			}
			if left := benchLeftovers(t, env, kind); len(left) > 0 {
				t.Errorf("left behind: %v\n%s", left, errb.String())
			}
		})
	}
}
