package pool

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"stowage/model"
	"stowage/plan"
)

const (
	uuidA = "11111111-1111-1111-1111-111111111111"
	uuidB = "22222222-2222-2222-2222-222222222222"
)

func dirPool(active bool) model.Pool {
	return model.Pool{Name: "p1", UUID: uuidA, Type: model.PoolDir, Active: active, Persistent: true, TargetPath: "/srv/p1"}
}

func deps(t *testing.T, f *fake) (Deps, string) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	return Deps{Libvirt: f, Host: "qemu:///system", Audit: plan.NewAudit(path)}, path
}

func records(t *testing.T, path string) []plan.Record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []plan.Record
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		var r plan.Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// do prepares and runs, as the CLI does.
func do(t *testing.T, d Deps, s Spec, confirm string) (Result, error) {
	t.Helper()
	pr, err := Prepare(context.Background(), d, s)
	if err != nil {
		return Result{}, err
	}
	return Run(context.Background(), d, pr, confirm, nil)
}

func TestActionsCallLibvirtOnTheUUID(t *testing.T) {
	cases := []struct {
		spec    Spec
		active  bool
		confirm string
		want    []string
	}{
		{Spec{Action: Start}, false, "", []string{"start " + uuidA}},
		{Spec{Action: Stop}, true, "p1", []string{"stop " + uuidA}},
		{Spec{Action: Refresh}, true, "", []string{"refresh " + uuidA}},
		{Spec{Action: Autostart}, true, "", []string{"autostart=true " + uuidA}},
		{Spec{Action: Build}, false, "", []string{"build overwrite=false " + uuidA}},
		{Spec{Action: Build, Overwrite: true}, false, "p1", []string{"build overwrite=true " + uuidA}},
		{Spec{Action: Delete}, true, "p1", []string{"stop " + uuidA, "delete " + uuidA}},
		{Spec{Action: Delete}, false, "p1", []string{"start " + uuidA, "stop " + uuidA, "delete " + uuidA}},
		{Spec{Action: Undefine}, true, "p1", []string{"stop " + uuidA, "undefine " + uuidA}},
		{Spec{Action: Undefine}, false, "p1", []string{"undefine " + uuidA}},
	}
	for _, c := range cases {
		t.Run(c.spec.Verb(), func(t *testing.T) {
			f := newFake(dirPool(c.active))
			d, path := deps(t, f)
			c.spec.Pool = "p1"
			res, err := do(t, d, c.spec, c.confirm)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Changed || !slices.Equal(f.calls, c.want) {
				t.Fatalf("changed %v, calls %q, want %q", res.Changed, f.calls, c.want)
			}
			recs := records(t, path)
			if len(recs) == 0 || recs[len(recs)-1].Result != plan.ResultOK {
				t.Fatalf("audit: %+v", recs)
			}
		})
	}
}

func TestAlreadyChangesNothing(t *testing.T) {
	for _, c := range []struct {
		spec   Spec
		active bool
		want   string
	}{
		{Spec{Action: Start}, true, "already running"},
		{Spec{Action: Stop}, false, "already stopped"},
		{Spec{Action: Autostart, Off: true}, true, "already off"},
	} {
		f := newFake(dirPool(c.active))
		d, path := deps(t, f)
		c.spec.Pool = "p1"
		res, err := do(t, d, c.spec, "p1")
		if err != nil || res.Changed || len(f.calls) > 0 || len(res.Notes) == 0 || !strings.Contains(res.Notes[0], c.want) {
			t.Errorf("%s: err %v, result %+v, calls %q", c.spec.Verb(), err, res, f.calls)
		}
		if recs := records(t, path); len(recs) != 1 || recs[0].Result != plan.ResultOK {
			t.Errorf("%s: audit %+v", c.spec.Verb(), recs)
		}
	}
}

// refused runs the action and checks: refused with every want in the
// message, no libvirt mutation, the pool as before, a refusal audited.
func refused(t *testing.T, f *fake, s Spec, confirm string, want ...string) {
	t.Helper()
	before := *f.pools[s.Pool]
	d, path := deps(t, f)
	_, err := do(t, d, s, confirm)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("%s: want a refusal, got %v", s.Verb(), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: message lacks %q: %v", s.Verb(), w, err)
		}
	}
	if len(f.calls) > 0 {
		t.Errorf("%s: refused, yet libvirt was asked: %q", s.Verb(), f.calls)
	}
	if after := *f.pools[s.Pool]; !reflect.DeepEqual(after, before) {
		t.Errorf("%s: pool changed: %+v → %+v", s.Verb(), before, after)
	}
	recs := records(t, path)
	if len(recs) != 1 || recs[0].Result != plan.ResultRefused || recs[0].Error != err.Error() {
		t.Errorf("%s: audit %+v", s.Verb(), recs)
	}
}

func withVM(f *fake, name, state string, disk model.Disk) {
	d := model.Domain{Name: name, State: state, Persistent: true, Disks: []model.Disk{disk}}
	f.config[name] = d
	if state != "shut off" {
		f.live[name] = d
	}
}

func TestRefusals(t *testing.T) {
	inPool := model.Disk{Target: "vdb", Device: "disk", SourceType: "file", Source: "/srv/p1/a.img"}
	t.Run("stop with a running user", func(t *testing.T) {
		f := newFake(dirPool(true))
		withVM(f, "web", "running", inPool)
		refused(t, f, Spec{Action: Stop, Pool: "p1"}, "p1", "web (disk vdb, in use now) on qemu:///system", "shut them down")
	})
	t.Run("stop with only a shut-off user warns", func(t *testing.T) {
		f := newFake(dirPool(true))
		withVM(f, "db", "shut off", inPool)
		d, _ := deps(t, f)
		res, err := do(t, d, Spec{Action: Stop, Pool: "p1"}, "p1")
		if err != nil || !res.Changed || len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "db (disk vdb, from its next start)") {
			t.Fatalf("err %v, result %+v", err, res)
		}
	})
	for _, a := range []Action{Delete, Undefine} {
		t.Run(string(a)+" with a shut-off user", func(t *testing.T) {
			f := newFake(dirPool(true))
			withVM(f, "db", "shut off", inPool)
			refused(t, f, Spec{Action: a, Pool: "p1"}, "p1", "VMs use it: db (disk vdb, from its next start)")
		})
	}
	t.Run("delete of a pool with volumes", func(t *testing.T) {
		f := newFake(dirPool(true))
		f.vols["p1"] = []string{"a", "b", "c", "d", "e", "f", "g"}
		refused(t, f, Spec{Action: Delete, Pool: "p1"}, "p1", "holds 7 volume(s): a, b, c, d, e and 2 more", "delete the drives first")
	})
	t.Run("delete of an rbd pool", func(t *testing.T) {
		f := newFake(model.Pool{Name: "p1", UUID: uuidA, Type: model.PoolRBD, Active: true, SourceName: "rbd"})
		refused(t, f, Spec{Action: Delete, Pool: "p1"}, "p1", "cannot delete an rbd pool's storage", "undefine")
	})
	t.Run("build of a running pool", func(t *testing.T) {
		refused(t, newFake(dirPool(true)), Spec{Action: Build, Pool: "p1"}, "", "stop it first")
	})
	t.Run("refresh of a stopped pool", func(t *testing.T) {
		refused(t, newFake(dirPool(false)), Spec{Action: Refresh, Pool: "p1"}, "", "start it first")
	})
	for _, s := range []Spec{{Action: Stop}, {Action: Delete}, {Action: Undefine}, {Action: Build, Overwrite: true}} {
		t.Run(s.Verb()+" without confirmation", func(t *testing.T) {
			s.Pool = "p1"
			refused(t, newFake(dirPool(s.Action == Stop)), s, "p2", "--confirm p1")
		})
	}
	t.Run("readonly", func(t *testing.T) {
		f := newFake(dirPool(false))
		d, path := deps(t, f)
		d.ReadOnly = true
		_, err := Prepare(context.Background(), d, Spec{Action: Start, Pool: "p1"})
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "--readonly") {
			t.Fatal(err)
		}
		if recs := records(t, path); len(recs) != 1 || recs[0].Result != plan.ResultRefused {
			t.Fatalf("audit %+v", recs)
		}
	})
	t.Run("unknown pool", func(t *testing.T) {
		f := newFake()
		d, _ := deps(t, f)
		_, err := Prepare(context.Background(), d, Spec{Action: Start, Pool: "nope"})
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), `no pool "nope"`) {
			t.Fatal(err)
		}
	})
}

// TestPeersOnSharedStorage: an rbd pool used by a running VM on another
// host refuses stop; an unreachable peer refuses too; a dir pool ignores
// peers (their paths are other directories).
func TestPeersOnSharedStorage(t *testing.T) {
	rbd := model.Pool{Name: "p1", UUID: uuidA, Type: model.PoolRBD, Active: true, SourceName: "ceph1"}
	peer := newFake()
	withVM(peer, "far", "running", model.Disk{Target: "vdc", Device: "disk", SourceType: "network", Source: "rbd:ceph1/img"})
	f := newFake(rbd)
	d, _ := deps(t, f)
	d.Peers = []Peer{{Host: "qemu+ssh://b/system", Libvirt: peer}}
	pr, err := Prepare(context.Background(), d, Spec{Action: Stop, Pool: "p1"})
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "far (disk vdc, in use now) on qemu+ssh://b/system") {
		t.Fatalf("prepared %+v, err %v", pr, err)
	}
	d.Peers = []Peer{{Host: "qemu+ssh://c/system", Err: errors.New("connection refused")}}
	if _, err := Prepare(context.Background(), d, Spec{Action: Stop, Pool: "p1"}); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "cannot check connected host qemu+ssh://c/system") {
		t.Fatal(err)
	}
	fd := newFake(dirPool(true))
	dd, _ := deps(t, fd)
	dd.Peers = []Peer{{Host: "qemu+ssh://c/system", Err: errors.New("connection refused")}}
	if _, err := Prepare(context.Background(), dd, Spec{Action: Stop, Pool: "p1"}); err != nil {
		t.Fatalf("dir pool, unreachable peer: %v", err)
	}
}

// TestAnotherAdminInBetween: the pool is replaced (same name, new UUID)
// after Prepare: Run refuses and touches nothing. Replaced during the run
// (after the check), the …If call refuses by UUID.
func TestAnotherAdminInBetween(t *testing.T) {
	f := newFake(dirPool(false))
	d, path := deps(t, f)
	pr, err := Prepare(context.Background(), d, Spec{Action: Undefine, Pool: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	f.pools["p1"] = &model.Pool{Name: "p1", UUID: uuidB, Type: model.PoolDir, Persistent: true}
	_, err = Run(context.Background(), d, pr, "p1", nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "its uuid was "+uuidA+", now "+uuidB) {
		t.Fatal(err)
	}
	if len(f.calls) > 0 || f.pools["p1"].UUID != uuidB {
		t.Fatalf("calls %q", f.calls)
	}
	if recs := records(t, path); len(recs) != 1 || recs[0].Result != plan.ResultRefused {
		t.Fatalf("audit %+v", recs)
	}

	f = newFake(dirPool(true))
	d, _ = deps(t, f)
	f.replace = func() { f.pools["p1"] = &model.Pool{Name: "p1", UUID: uuidB, Type: model.PoolDir, Active: true} }
	_, err = do(t, d, Spec{Action: Stop, Pool: "p1"}, "p1")
	if !errors.Is(err, plan.ErrNotOurs) || len(f.calls) > 0 || !f.pools["p1"].Active {
		t.Fatalf("err %v, calls %q", err, f.calls)
	}
}

// TestDeleteRollsBack: a failed delete restarts the pool it stopped; an
// inactive pool found to hold volumes is stopped again, nothing deleted.
func TestDeleteRollsBack(t *testing.T) {
	f := newFake(dirPool(true))
	f.failOn = "delete"
	d, path := deps(t, f)
	_, err := do(t, d, Spec{Action: Delete, Pool: "p1"}, "p1")
	if err == nil || !f.pools["p1"].Active {
		t.Fatalf("err %v, pool %+v", err, *f.pools["p1"])
	}
	if want := []string{"stop " + uuidA, "delete " + uuidA, "start " + uuidA}; !slices.Equal(f.calls, want) {
		t.Fatalf("calls %q, want %q", f.calls, want)
	}
	if recs := records(t, path); recs[len(recs)-1].Action != "undo pool stop" || recs[len(recs)-1].Result != plan.ResultOK {
		t.Fatalf("audit %+v", recs)
	}

	f = newFake(dirPool(false))
	f.vols["p1"] = []string{"keep.img"}
	d, path = deps(t, f)
	_, err = do(t, d, Spec{Action: Delete, Pool: "p1"}, "p1")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "keep.img") || f.pools["p1"].Active {
		t.Fatalf("err %v, pool %+v", err, *f.pools["p1"])
	}
	if want := []string{"start " + uuidA, "stop " + uuidA}; !slices.Equal(f.calls, want) {
		t.Fatalf("calls %q, want %q", f.calls, want)
	}
	var refusedRec bool
	for _, r := range records(t, path) {
		refusedRec = refusedRec || r.Result == plan.ResultRefused
	}
	if !refusedRec {
		t.Fatal("no refusal audited")
	}
}
