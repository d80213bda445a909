package libvirtx_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
)

// Lab tests of stowage pool define's backend on the lab host: every type
// the lab can run here (dir, fs on a loop device, rbd, iscsi-direct with
// and without CHAP), the wrong NFS export, and other admins' pools.

func pdDial(t *testing.T, uri string) *libvirtx.Conn {
	t.Helper()
	c, err := libvirtx.Dial(context.Background(), uri, libvirtx.Options{Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func pdName(kind string) string { return fmt.Sprintf("t-pd-%s-%d", kind, time.Now().UnixNano()%1e9) }

// pdDir is a directory of the test's own under the lab directory.
func pdDir(t *testing.T, env lab.Env, name string) string {
	t.Helper()
	d := filepath.Join(env.Dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// pdState is what a define could leave: pools named t-pd-* with their
// UUIDs and states, secrets of the given usages, and whether paths exist
// or are mount points.
func pdState(t *testing.T, uri string, usages []string, paths ...string) string {
	t.Helper()
	var b strings.Builder
	// Only t-pd-* pools and the lab's: other tests define their own
	// pools on the same lab meanwhile.
	out, err := virshOut(t, uri, "pool-list", "--all", "--name")
	if err != nil {
		t.Fatalf("virsh pool-list: %v: %s", err, out)
	}
	names := strings.Fields(out)
	slices.Sort(names)
	for _, n := range names {
		if strings.HasPrefix(n, "t-pd-") || strings.HasPrefix(n, "stowage-lab-") {
			u, _ := virshOut(t, uri, "pool-uuid", n)
			fmt.Fprintf(&b, "pool %s %s; ", n, strings.TrimSpace(u))
		}
	}
	out, _ = virshOut(t, uri, "secret-list")
	for _, l := range strings.Split(out, "\n") {
		for _, u := range usages {
			if u != "" && strings.HasSuffix(strings.TrimSpace(l), " "+u) {
				fmt.Fprintf(&b, "secret %s; ", strings.TrimSpace(l))
			}
		}
	}
	mounts, _ := os.ReadFile("/proc/mounts")
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			fmt.Fprintf(&b, "exists %s; ", p)
		}
		if strings.Contains(string(mounts), " "+p+" ") {
			fmt.Fprintf(&b, "mounted %s; ", p)
		}
	}
	return b.String()
}

func pdCleanupPool(t *testing.T, uri, name string) {
	t.Cleanup(func() {
		virshOut(t, uri, "pool-destroy", name)
		virshOut(t, uri, "pool-undefine", name)
	})
}

// pdLoop attaches a fresh blank image to a loop device (the fs backend
// unmounts only what it mounted from a device: from an image file,
// libvirt 9.0's pool-destroy leaves the mount behind, so stowage takes
// devices under /dev only).
func pdLoop(t *testing.T, dir string) string {
	t.Helper()
	img := filepath.Join(dir, "fs.img")
	if out, err := exec.Command("truncate", "-s", "64M", img).CombinedOutput(); err != nil {
		t.Fatalf("truncate: %v: %s", err, out)
	}
	out, err := exec.Command("losetup", "-f", "--show", img).CombinedOutput()
	if err != nil {
		lab.Unavailable(t, "losetup: %v: %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		exec.Command("umount", filepath.Join(dir, "mnt")).Run() // only if a failed test left it
		if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v: %s", dev, err, out)
		}
	})
	return dev
}

// pdSpecs are the types the lab host runs, each with the secret it needs.
func pdSpecs(t *testing.T, env lab.Env, c *libvirtx.Conn) map[string]func() (model.PoolSpec, []byte, []string) {
	return map[string]func() (model.PoolSpec, []byte, []string){
		"dir": func() (model.PoolSpec, []byte, []string) {
			n := pdName("dir")
			d := pdDir(t, env, n)
			p := filepath.Join(d, "pool")
			return model.PoolSpec{Type: "dir", Name: n, Path: p}, nil, []string{p}
		},
		"fs": func() (model.PoolSpec, []byte, []string) {
			n := pdName("fs")
			d := pdDir(t, env, n)
			p := filepath.Join(d, "mnt")
			return model.PoolSpec{Type: "fs", Name: n, Path: p, Devices: []string{pdLoop(t, d)}, Format: "ext4", Build: true}, nil, []string{p}
		},
		"rbd": func() (model.PoolSpec, []byte, []string) {
			n := pdName("rbd")
			s := model.PoolSpec{Type: "rbd", Name: n, Monitors: []string{"127.0.0.1:6789"}, CephPool: env.CephPool, CephUser: env.CephUser}
			return s, labCephxKey(t, env), []string{"ceph " + s.SecretUsage()}
		},
		"iscsi-direct": func() (model.PoolSpec, []byte, []string) {
			return model.PoolSpec{Type: "iscsi-direct", Name: pdName("isd"), Portal: env.ISCSIPortal, IQN: env.ISCSITarget,
				Initiator: env.ISCSIInitiator}, nil, nil
		},
	}
}

// TestLabDefineEveryLocalType defines and starts a pool of each type the
// lab host runs, checks libvirt runs it, then defines it again failing
// right after the start (the undo): the host must end as it began.
func TestLabDefineEveryLocalType(t *testing.T) {
	env := lab.Need(t)
	c := pdDial(t, env.URI)
	ctx := context.Background()
	specs := pdSpecs(t, env, c)
	for _, typ := range []string{"dir", "fs", "rbd", "iscsi-direct"} {
		t.Run(typ, func(t *testing.T) {
			s, secret, extra := specs[typ]()
			var paths, usages []string
			if s.Path != "" {
				paths = append(paths, s.Path)
			} else {
				usages = extra
			}
			before := pdState(t, env.URI, usages, paths...)
			auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
			r := plan.Runner{Host: env.URI, Audit: plan.NewAudit(auditPath), FailAfter: model.StepPoolStart}
			left, err := c.DefinePool(ctx, r, s, slices.Clone(secret))
			if err == nil || !strings.Contains(err.Error(), "injected failure") || len(left) != 0 {
				t.Fatalf("define failing after the start: left %v, err %v", left, err)
			}
			if after := pdState(t, env.URI, usages, paths...); after != before {
				t.Fatalf("the undo did not restore the host:\nbefore %s\nafter  %s", before, after)
			}
			undone := 0
			for _, rec := range readAudit(t, auditPath) {
				if strings.HasPrefix(rec.Action, "undo ") && rec.Result == plan.ResultOK {
					undone++
				}
			}
			if undone < 2 {
				t.Errorf("audit records %d undos, want the start and the define at least", undone)
			}

			// A fresh name (the first run's name would do as well; a new
			// one keeps the two runs' audit apart).
			s.Name += "b"
			// The first run's mkfs stays (a filesystem cannot be taken
			// back); building again is refused (--no-overwrite), so the
			// second run mounts what is there.
			s.Build = false
			pdCleanupPool(t, env.URI, s.Name)
			if s.Type == "rbd" {
				t.Cleanup(func() { virshOut(t, env.URI, "secret-undefine", secretUUIDByUsage(t, env, s.SecretUsage())) })
			}
			if _, err := c.DefinePool(ctx, plan.Runner{Host: env.URI}, s, slices.Clone(secret)); err != nil {
				t.Fatalf("define %s: %v", typ, err)
			}
			out, err := virshOut(t, env.URI, "pool-info", s.Name)
			if err != nil || !strings.Contains(out, "running") {
				t.Fatalf("pool-info: %v\n%s", err, out)
			}
			if typ == "fs" {
				if m, _ := os.ReadFile("/proc/mounts"); !strings.Contains(string(m), s.Devices[0]+" "+s.Path+" ext4") {
					t.Errorf("%s is not mounted on %s as ext4", s.Devices[0], s.Path)
				}
			}
			if typ == "iscsi-direct" {
				vols, err := virshOut(t, env.URI, "vol-list", s.Name)
				if err != nil || !strings.Contains(vols, "unit:0:0:") {
					t.Errorf("iscsi-direct pool lists no LUN: %v\n%s", err, vols)
				}
			}
		})
	}
}

// TestLabDefineISCSIDirectCHAPSecretStaysSecret defines an iscsi-direct
// pool on the lab's CHAP target: it starts with the right secret, and the
// secret never reaches the audit log, the error or the pool XML.
func TestLabDefineISCSIDirectCHAPSecretStaysSecret(t *testing.T) {
	env := lab.Need(t)
	kv := labEnvFile(t, env)
	target, user, file := kv["STOWAGE_LAB_ISCSI_SAN3"], kv["STOWAGE_LAB_ISCSI_CHAP_USER"], kv["STOWAGE_LAB_ISCSI_CHAP_FILE"]
	raw, err := os.ReadFile(file)
	if target == "" || err != nil {
		lab.Unavailable(t, "the lab's CHAP target (STOWAGE_LAB_ISCSI_SAN3, _CHAP_FILE): %v", err)
	}
	value := []byte(strings.TrimRight(string(raw), "\r\n"))
	sec := lab.NewSecret("CHAP secret", value)
	c := pdDial(t, env.URI)
	name := pdName("chap")
	s := model.PoolSpec{Type: "iscsi-direct", Name: name, Portal: env.ISCSIPortal, IQN: target, Initiator: env.ISCSIInitiator,
		CHAPUser: user, CHAPUsage: "stowage-chap-" + name}
	pdCleanupPool(t, env.URI, name)
	t.Cleanup(func() { virshOut(t, env.URI, "secret-undefine", pdSecretUUID(t, env.URI, "iscsi "+s.CHAPUsage)) })
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
	passed := slices.Clone(value)
	if _, err := c.DefinePool(context.Background(), plan.Runner{Host: env.URI, Audit: plan.NewAudit(auditPath)}, s, passed); err != nil {
		sec.AssertAbsent(t, "the error", []byte(err.Error()))
		t.Fatalf("define iscsi-direct with CHAP: %v", err)
	}
	if slices.ContainsFunc(passed, func(b byte) bool { return b != 0 }) {
		t.Error("the CHAP secret bytes were not cleared")
	}
	out, err := virshOut(t, env.URI, "pool-dumpxml", name)
	if err != nil || !strings.Contains(out, "usage='"+s.CHAPUsage+"'") {
		t.Errorf("pool XML lacks the CHAP secret usage: %v\n%s", err, out)
	}
	sec.AssertAbsent(t, "the pool XML", []byte(out))
	b, _ := os.ReadFile(auditPath)
	sec.AssertAbsent(t, "the audit log", b)
	if info, _ := virshOut(t, env.URI, "pool-info", name); !strings.Contains(info, "running") {
		t.Errorf("CHAP pool not running:\n%s", info)
	}
}

func labEnvFile(t *testing.T, env lab.Env) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.Scripts, "env"))
	if err != nil {
		lab.Unavailable(t, "lab/env: %v", err)
	}
	kv := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			kv[k] = v
		}
	}
	return kv
}

// TestLabDefineNetFSWrongExport: the lab runs no NFS server, so a netfs
// pool on 127.0.0.1:/t-pd-nope fails to mount; the define is rolled back
// (the pool and the directory it made are gone, as before), and the error
// names the mount failure and what was removed.
func TestLabDefineNetFSWrongExport(t *testing.T) {
	env := lab.Need(t)
	c := pdDial(t, env.URI)
	name := pdName("nfs")
	mnt := filepath.Join(pdDir(t, env, name), "mnt")
	s := model.PoolSpec{Type: "netfs", Name: name, Path: mnt, SourceHost: "127.0.0.1", SourcePath: "/t-pd-nope"}
	pdCleanupPool(t, env.URI, name)
	before := pdState(t, env.URI, nil, mnt)
	var events []plan.Event
	ch := make(chan plan.Event)
	done := make(chan struct{})
	go func() {
		for ev := range ch {
			events = append(events, ev)
		}
		close(done)
	}()
	_, err := c.DefinePool(context.Background(), plan.Runner{Host: env.URI, Events: ch}, s, nil)
	close(ch)
	<-done
	if err == nil {
		t.Fatal("a netfs pool on an export that does not exist started")
	}
	for _, want := range []string{"mounting the NFS export 127.0.0.1:/t-pd-nope", "mount", "rolled back"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	var removed []string
	for _, ev := range events {
		if ev.Kind == plan.StepUndone {
			removed = append(removed, ev.Note)
		}
	}
	if len(removed) != 2 || !strings.Contains(strings.Join(removed, ";"), "directory "+mnt) {
		t.Errorf("the rollback should report the directory and the pool removed: %q", removed)
	}
	if after := pdState(t, env.URI, nil, mnt); after != before {
		t.Errorf("state changed:\nbefore %s\nafter  %s", before, after)
	}
}

// TestLabNFSDiscoveryWithoutServer: discovery against a host without NFS
// returns an error (bounded), not a hang or an empty success.
func TestLabNFSDiscoveryWithoutServer(t *testing.T) {
	env := lab.Need(t)
	c := pdDial(t, env.URI)
	ex, err := c.FindNFSExports(context.Background(), "127.0.0.1")
	if err == nil {
		t.Fatalf("NFS discovery at a host without NFS succeeded: %v", ex)
	}
	if !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("the error does not name the host: %v", err)
	}
}

// TestLabDefineNameTakenByAnotherAdmin: a name another admin's pool has is
// refused before anything changes (audited), and their pool is untouched;
// and when they define it between our review and our run, the define step
// fails and the rollback never touches their pool (only our secret goes).
func TestLabDefineNameTakenByAnotherAdmin(t *testing.T) {
	env := lab.Need(t)
	c := pdDial(t, env.URI)
	ctx := context.Background()
	name := pdName("taken")
	theirDir := pdDir(t, env, name)
	pdCleanupPool(t, env.URI, name)
	if out, err := virshOut(t, env.URI, "pool-define-as", name, "dir", "--target", theirDir); err != nil {
		t.Fatalf("their pool: %v: %s", err, out)
	}
	theirUUID, _ := virshOut(t, env.URI, "pool-uuid", name)
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
	r := plan.Runner{Host: env.URI, Audit: plan.NewAudit(auditPath)}
	mine := model.PoolSpec{Type: "dir", Name: name, Path: filepath.Join(theirDir, "mine")}
	before := pdState(t, env.URI, nil, mine.Path)
	_, err := c.DefinePool(ctx, r, mine, nil)
	if err == nil || !libvirtx.IsRefusal(err) || !strings.Contains(err.Error(), "exists on this host") {
		t.Fatalf("a taken name: %v", err)
	}
	if after := pdState(t, env.URI, nil, mine.Path); after != before {
		t.Errorf("refusal changed the host:\nbefore %s\nafter  %s", before, after)
	}
	recs := readAudit(t, auditPath)
	if len(recs) != 1 || recs[0].Result != plan.ResultRefused {
		t.Errorf("audit should hold one refusal: %+v", recs)
	}

	// Between review and run: our preflight passed on a free name, then
	// they define it; our plan runs its actions.
	race := model.PoolSpec{Type: "rbd", Name: pdName("race"), Monitors: []string{"127.0.0.1:6789"}, CephPool: env.CephPool, CephUser: env.CephUser}
	if err := c.PreflightDefine(ctx, race); err != nil {
		t.Fatalf("review: %v", err)
	}
	pdCleanupPool(t, env.URI, race.Name)
	if out, err := virshOut(t, env.URI, "pool-define-as", race.Name, "dir", "--target", filepath.Join(theirDir, "race")); err != nil {
		t.Fatalf("their pool: %v: %s", err, out)
	}
	raceUUID, _ := virshOut(t, env.URI, "pool-uuid", race.Name)
	acts, err := c.DefinePoolActions(race, labCephxKey(t, env))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Run(ctx, acts)
	if err == nil || !strings.Contains(err.Error(), "already") {
		t.Fatalf("defining over their pool: %v", err)
	}
	if u, _ := virshOut(t, env.URI, "pool-uuid", race.Name); u != raceUUID {
		t.Errorf("their pool %s changed uuid: %q → %q", race.Name, raceUUID, u)
	}
	if u, _ := virshOut(t, env.URI, "pool-uuid", name); u != theirUUID {
		t.Errorf("their pool %s changed uuid: %q → %q", name, theirUUID, u)
	}
	if st := pdState(t, env.URI, []string{"ceph " + race.SecretUsage()}); strings.Contains(st, "secret") {
		t.Errorf("our secret was not undone: %s", st)
	}
}

// pdSecretUUID finds a secret by "TYPE USAGE" as virsh secret-list shows it.
func pdSecretUUID(t *testing.T, uri, usage string) string {
	out, _ := virshOut(t, uri, "secret-list")
	for _, l := range strings.Split(out, "\n") {
		if strings.HasSuffix(strings.TrimSpace(l), " "+usage) {
			return strings.Fields(l)[0]
		}
	}
	return "none"
}
