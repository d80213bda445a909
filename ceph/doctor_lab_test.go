//go:build !noceph

package ceph_test

// The doctor's Ceph checks against the lab's real cluster: each test
// injects its fault, sees the finding, applies the fix where there is one
// and sees it gone. Names start with t-doc-; cluster-wide settings are
// restored in t.Cleanup.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"

	"stowage/ceph"
	"stowage/lab"
	"stowage/model"
)

func labConfig(env lab.Env) ceph.Config {
	return ceph.Config{ConfFile: env.CephConf, User: env.CephUser, Keyring: env.CephKeyring, Timeout: 20 * time.Second}
}

func adminConfig(env lab.Env) ceph.Config {
	return ceph.Config{ConfFile: env.CephConf, User: "admin", Keyring: adminKeyring(env), Timeout: 20 * time.Second}
}

func adminKeyring(env lab.Env) string {
	return filepath.Join(filepath.Dir(env.CephConf), "client.admin.keyring")
}

// adminCmd runs a mon command as client.admin and returns its answer.
func adminCmd(t *testing.T, conn *rados.Conn, args map[string]any) []byte {
	t.Helper()
	b, _ := json.Marshal(args)
	out, info, err := conn.MonCommand(b)
	if err != nil {
		t.Fatalf("mon command %v: %v (%s)", args["prefix"], err, info)
	}
	return out
}

// rbdCLI runs the rbd tool as client.admin (the lab's way to leave a lock
// behind a client that has exited).
func rbdCLI(t *testing.T, env lab.Env, args ...string) string {
	t.Helper()
	full := append([]string{"-c", env.CephConf, "-k", adminKeyring(env), "--id", "admin"}, args...)
	out, err := exec.Command("rbd", full...).CombinedOutput()
	if err != nil {
		t.Fatalf("rbd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// testImage creates pool/name as the lab user and removes it afterwards.
func testImage(t *testing.T, env lab.Env, name string) {
	t.Helper()
	cl, err := ceph.Connect(t.Context(), labConfig(env))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if err := cl.CreateImage(env.CephPool, name, 8<<20); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cl.RemoveImage(env.CephPool, name); err != nil {
			t.Errorf("clean up image %s: %v", name, err)
		}
	})
}

// staleLock leaves an exclusive lock with cookie on pool/name, held by an
// rbd process that exits at once, and cleans up in the order that works:
// break the lock if the test has not (librbd then blocklists its holder),
// then lift that blocklist entry, then (earlier registered) remove the image.
func staleLock(t *testing.T, env lab.Env, admin *rados.Conn, name, cookie string) model.RBDLocker {
	t.Helper()
	spec := env.CephPool + "/" + name
	rbdCLI(t, env, "lock", "add", spec, cookie)
	cl, err := ceph.Connect(t.Context(), labConfig(env))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	info, err := cl.Image(env.CephPool, name)
	if err != nil || len(info.Lockers) != 1 {
		t.Fatalf("image %s: %+v, %v; want one locker", spec, info, err)
	}
	l := info.Lockers[0]
	t.Cleanup(func() {
		b, _ := json.Marshal(map[string]any{"prefix": "osd blocklist", "blocklistop": "rm", "addr": l.Address})
		if _, info, err := admin.MonCommand(b); err != nil {
			t.Errorf("remove blocklist entry %s: %v (%s)", l.Address, err, info)
		}
	})
	t.Cleanup(func() {
		err := cl.BreakLock(context.Background(), env.CephPool, name, l.Client, l.Cookie)
		if err != nil && !errors.Is(err, ceph.ErrLockChanged) {
			t.Errorf("clean up: break the lock on %s: %v", spec, err)
		}
	})
	return l
}

func diagnose(t *testing.T, c ceph.Config, o ceph.DoctorOptions) []model.Finding {
	t.Helper()
	fs, err := ceph.Diagnose(t.Context(), c, o)
	if err != nil {
		// Other helpers' images may vanish mid-run; the checks asked for
		// here must still have run, which the findings show.
		t.Logf("checks that could not run: %v", err)
	}
	return fs
}

func findings(fs []model.Finding, check, object string) []model.Finding {
	var out []model.Finding
	for _, f := range fs {
		if f.Check == check && strings.Contains(f.Object, object) {
			out = append(out, f)
		}
	}
	return out
}

func uniq(*testing.T) string { return fmt.Sprintf("%d", time.Now().UnixNano()%1e9) }

// A lock left by a client that exited is found, named with its locker and
// cookie, and broken by BreakLock, which refuses a wrong cookie first.
func TestLabDoctorStaleLock(t *testing.T) {
	env := lab.Need(t)
	admin := labAdmin(t, env)
	name := "t-doc-lock-" + uniq(t)
	testImage(t, env, name)
	l := staleLock(t, env, admin, name, "t-doc-cookie")
	spec := env.CephPool + "/" + name

	fs := findings(diagnose(t, labConfig(env), ceph.DoctorOptions{Pools: []string{env.CephPool}}), ceph.CheckStaleLock, spec)
	if len(fs) != 1 {
		t.Fatalf("stale-lock findings for %s: %+v; want one", spec, fs)
	}
	f := fs[0]
	t.Logf("found: %s | %s | %s", f.Message, f.Evidence, f.Fix)
	a := f.Action
	if a == nil || a.Kind != model.FixBreakLock || a.Target != spec || a.Detail["cookie"] != "t-doc-cookie" || !strings.HasPrefix(a.Detail["locker"], "client.") {
		t.Fatalf("action = %+v; want break-lock on %s with the cookie and locker", a, spec)
	}
	if f.Severity != model.SeverityWarning || !strings.Contains(f.Evidence, "rbd list watchers "+spec+": none") {
		t.Errorf("finding %+v", f)
	}
	if a.Detail["locker"] != l.Client || a.Detail["address"] != l.Address {
		t.Errorf("action names %s at %s; the lock is %s at %s", a.Detail["locker"], a.Detail["address"], l.Client, l.Address)
	}

	cl, err := ceph.Connect(t.Context(), labConfig(env))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	err = cl.BreakLock(t.Context(), env.CephPool, name, a.Detail["locker"], "another-cookie")
	if !errors.Is(err, ceph.ErrLockChanged) || !errors.Is(err, model.ErrNotTheSame) || !strings.Contains(err.Error(), "t-doc-cookie") {
		t.Errorf("BreakLock with a cookie the image does not have: %v; want ErrLockChanged naming the lock it has", err)
	}
	if err := cl.BreakLock(t.Context(), env.CephPool, name, a.Detail["locker"], a.Detail["cookie"]); err != nil {
		t.Fatalf("BreakLock: %v", err)
	}
	if out := rbdCLI(t, env, "lock", "ls", spec); strings.Contains(out, "t-doc-cookie") {
		t.Errorf("rbd lock ls after BreakLock still lists it:\n%s", out)
	}
	if fs := findings(diagnose(t, labConfig(env), ceph.DoctorOptions{Pools: []string{env.CephPool}}), ceph.CheckStaleLock, spec); len(fs) != 0 {
		t.Errorf("after BreakLock: %+v", fs)
	}
	// Broken twice: the lock is gone, so it refuses rather than succeeds.
	if err := cl.BreakLock(t.Context(), env.CephPool, name, a.Detail["locker"], a.Detail["cookie"]); !errors.Is(err, ceph.ErrLockChanged) {
		t.Errorf("second BreakLock: %v; want ErrLockChanged", err)
	}
}

// A lock whose holder still has the image open is live: no finding, and
// BreakLock refuses it.
func TestLabDoctorLiveLockIsLeftAlone(t *testing.T) {
	env := lab.Need(t)
	admin := labAdmin(t, env)
	name := "t-doc-live-" + uniq(t)
	testImage(t, env, name)
	io, err := admin.OpenIOContext(env.CephPool)
	if err != nil {
		t.Fatal(err)
	}
	defer io.Destroy()
	img, err := rbd.OpenImage(io, name, rbd.NoSnapshot) // read-write: it watches the header
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	if err := img.LockExclusive("t-doc-live"); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = img.Unlock("t-doc-live") }()
	_, ls, err := img.ListLockers()
	if err != nil || len(ls) != 1 {
		t.Fatalf("lockers %+v, %v", ls, err)
	}
	spec := env.CephPool + "/" + name
	if fs := findings(diagnose(t, labConfig(env), ceph.DoctorOptions{Pools: []string{env.CephPool}}), ceph.CheckStaleLock, spec); len(fs) != 0 {
		t.Errorf("a live lock reported as stale: %+v", fs)
	}
	cl, err := ceph.Connect(t.Context(), labConfig(env))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.BreakLock(t.Context(), env.CephPool, name, ls[0].Client, ls[0].Cookie); !errors.Is(err, ceph.ErrLockLive) {
		t.Errorf("BreakLock on a live lock: %v; want ErrLockLive", err)
	}
	if _, after, _ := img.ListLockers(); len(after) != 1 {
		t.Errorf("the live lock was broken: lockers now %+v", after)
	}
}

// A blocklisted client is reported; when it holds a lock, the finding
// names the image, and the stale-lock finding says it is blocklisted.
func TestLabDoctorBlocklist(t *testing.T) {
	env := lab.Need(t)
	admin := labAdmin(t, env)
	fake := "192.0.2.77:0/" + uniq(t) // TEST-NET-1: no such client exists
	unblock := func(addr string) {
		b, _ := json.Marshal(map[string]any{"prefix": "osd blocklist", "blocklistop": "rm", "addr": addr})
		if _, info, err := admin.MonCommand(b); err != nil {
			t.Errorf("remove blocklist entry %s: %v (%s)", addr, err, info)
		}
	}
	block := func(addr string) {
		adminCmd(t, admin, map[string]any{"prefix": "osd blocklist", "blocklistop": "add", "addr": addr, "expire": 600.5}) // a float, or the mon refuses it
	}
	t.Cleanup(func() { unblock(fake) })
	block(fake)

	name := "t-doc-bl-" + uniq(t)
	testImage(t, env, name)
	spec := env.CephPool + "/" + name
	locker := staleLock(t, env, admin, name, "t-doc-bl")
	block(locker.Address)

	fs := diagnose(t, labConfig(env), ceph.DoctorOptions{Pools: []string{env.CephPool}})
	plain := findings(fs, ceph.CheckBlocklist, fake)
	if len(plain) != 1 || plain[0].Severity != model.SeverityInfo || !strings.Contains(plain[0].Evidence, "osd blocklist ls") {
		t.Errorf("blocklisted %s: %+v; want one info finding with the blocklist as evidence", fake, plain)
	}
	tied := findings(fs, ceph.CheckBlocklist, locker.Address)
	if len(tied) != 1 || tied[0].Severity != model.SeverityWarning || !strings.Contains(tied[0].Message, spec) {
		t.Errorf("blocklisted locker %s: %+v; want a warning naming %s", locker.Address, tied, spec)
	}
	stale := findings(fs, ceph.CheckStaleLock, spec)
	if len(stale) != 1 || !strings.Contains(stale[0].Message, "blocklisted until") {
		t.Errorf("stale lock of a blocklisted client: %+v", stale)
	}
}

// Two clients with the image open (on one IP in the lab: told apart by
// entity and nonce) are reported; once one closes, the finding is gone.
func TestLabDoctorMultiWatch(t *testing.T) {
	env := lab.Need(t)
	name := "t-doc-watch-" + uniq(t)
	testImage(t, env, name)
	spec := env.CephPool + "/" + name
	var imgs []*rbd.Image
	for range 2 {
		io, err := labAdmin(t, env).OpenIOContext(env.CephPool) // a connection each: two clients
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(io.Destroy)
		img, err := rbd.OpenImage(io, name, rbd.NoSnapshot)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = img.Close() }) // closed already unless the test failed
		imgs = append(imgs, img)
	}
	fs := findings(diagnose(t, labConfig(env), ceph.DoctorOptions{Pools: []string{env.CephPool}}), ceph.CheckMultiWatch, spec)
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "open by 2 clients on host 127.0.0.1") {
		t.Fatalf("multi-watch findings for %s: %+v", spec, fs)
	}
	t.Logf("found: %s | %s", fs[0].Message, fs[0].Evidence)
	if err := imgs[1].Close(); err != nil {
		t.Fatal(err)
	}
	if fs := findings(diagnose(t, labConfig(env), ceph.DoctorOptions{Pools: []string{env.CephPool}}), ceph.CheckMultiWatch, spec); len(fs) != 0 {
		t.Errorf("one client left, still: %+v", fs)
	}
	if err := imgs[0].Close(); err != nil {
		t.Fatal(err)
	}
}
