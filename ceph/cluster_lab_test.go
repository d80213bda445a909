//go:build !noceph

package ceph_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"

	"stowage/ceph"
	"stowage/lab"
	"stowage/model"
)

// What the Ceph view shows of a cluster and of images with data, a
// snapshot, a clone and a LUKS header.
func TestLabCephViewFacts(t *testing.T) {
	env := lab.Need(t)
	admin := labAdmin(t, env)
	io, err := admin.OpenIOContext(env.CephPool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(io.Destroy)
	n := uniq(t)
	base, clone, luks := "t-doc-base-"+n, "t-doc-clone-"+n, "t-doc-luks-"+n
	if err := rbd.CreateImage(io, base, 8<<20, rbd.NewRbdImageOptions()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeImage(t, io, base) })
	img, err := rbd.OpenImage(io, base, rbd.NoSnapshot)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := img.WriteAt([]byte(strings.Repeat("x", 1<<20)), 0); err != nil {
		t.Fatal(err)
	}
	snap, err := img.CreateSnapshot("s1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The snapshot's handle died with its image's: open it again.
		img, err := rbd.OpenImage(io, base, rbd.NoSnapshot)
		if err != nil {
			t.Errorf("clean up: open %s: %v", base, err)
			return
		}
		defer img.Close()
		snap := img.GetSnapshot("s1")
		if err := snap.Unprotect(); err != nil {
			t.Errorf("unprotect: %v", err)
		}
		if err := snap.Remove(); err != nil {
			t.Errorf("remove snapshot: %v", err)
		}
	})
	if err := snap.Protect(); err != nil {
		t.Fatal(err)
	}
	if err := img.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rbd.CloneImage(io, base, "s1", io, clone, rbd.NewRbdImageOptions()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeImage(t, io, clone) })

	cl, err := ceph.Connect(t.Context(), labConfig(env))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if err := cl.CreateImage(env.CephPool, luks, 32<<20); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeImage(t, io, luks) })
	pass := []byte("t-doc passphrase")
	defer clear(pass)
	if err := cl.FormatLUKS(env.CephPool, luks, "luks1", pass); err != nil {
		t.Fatal(err)
	}

	b, err := cl.Image(env.CephPool, base)
	if err != nil || len(b.Errors) > 0 {
		t.Fatalf("Image(%s) = %+v, %v", base, b, err)
	}
	if b.Size != 8<<20 || b.Used < 1<<20 || b.Used > 8<<20 || b.Encryption != "none" || b.ID == "" ||
		!slices.Contains(b.Features, "layering") || len(b.Snapshots) != 1 || b.Snapshots[0].Name != "s1" || b.Parent != "" {
		t.Errorf("base image = %+v", b)
	}
	c, err := cl.Image(env.CephPool, clone)
	if err != nil || c.Parent != env.CephPool+"/"+base+"@s1" {
		t.Errorf("clone = %+v, %v; want parent %s/%s@s1", c, err, env.CephPool, base)
	}
	l, err := cl.Image(env.CephPool, luks)
	if err != nil || l.Encryption != "luks1" {
		t.Errorf("LUKS image = %+v, %v; want luks1 read from the header", l, err)
	}
	all, err := cl.Images(t.Context(), env.CephPool)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, i := range all {
		names[i.Name] = true
	}
	if !names[base] || !names[clone] || !names[luks] {
		t.Errorf("Images lists %v; want the three test images", names)
	}

	cluster, err := cl.Cluster(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(cluster.Pools, func(p model.CephPool) bool { return p.Name == env.CephPool })
	if cluster.FSID == "" || !strings.HasPrefix(cluster.Health.Status, "HEALTH_") || cluster.TotalBytes == 0 ||
		cluster.NearfullRatio <= 0 || cluster.FullRatio <= cluster.NearfullRatio || i < 0 ||
		cluster.Pools[i].MaxAvailBytes == 0 || !slices.Contains(cluster.Pools[i].Applications, "rbd") {
		t.Errorf("cluster = %+v", cluster)
	}
}

func removeImage(t *testing.T, io *rados.IOContext, name string) {
	t.Helper()
	if err := rbd.RemoveImage(io, name); err != nil {
		t.Errorf("clean up image %s: %v", name, err)
	}
}

// A cephx user without caps on the pool it is used for: found from EPERM
// as that user, and from its caps through an admin connection; fixed with
// the finding's command, then gone.
func TestLabDoctorUserCaps(t *testing.T) {
	env := lab.Need(t)
	admin := labAdmin(t, env)
	user := "t-doc-" + uniq(t)
	out := adminCmd(t, admin, map[string]any{"prefix": "auth get-or-create", "entity": "client." + user,
		"caps": []string{"mon", "profile rbd", "osd", "profile rbd pool=t-doc-elsewhere"}, "format": "json"})
	t.Cleanup(func() { adminCmd(t, admin, map[string]any{"prefix": "auth del", "entity": "client." + user}) })
	var got []struct {
		Key string `json:"key"`
	}
	err := json.Unmarshal(out, &got)
	clear(out)
	if err != nil || len(got) != 1 {
		t.Fatalf("auth get-or-create: %d entries, %v", len(got), err)
	}
	key := []byte(got[0].Key)
	defer clear(key)
	c := ceph.Config{ConfFile: env.CephConf, User: user, Key: key, Timeout: 20 * time.Second}

	fs := findings(diagnose(t, c, ceph.DoctorOptions{Pools: []string{env.CephPool}}), ceph.CheckUserCaps, "client."+user)
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "refused on pool "+env.CephPool) || !strings.Contains(fs[0].Evidence, "Operation not permitted") {
		t.Fatalf("as the user: %+v; want one caps finding from EPERM", fs)
	}
	t.Logf("found (EPERM): %s | %s", fs[0].Message, fs[0].Evidence)

	fs = findings(diagnose(t, c, ceph.DoctorOptions{Pools: []string{env.CephPool}, Admin: adminConfig(env)}), ceph.CheckUserCaps, "client."+user)
	i := slices.IndexFunc(fs, func(f model.Finding) bool { return strings.Contains(f.Evidence, "auth get client."+user) })
	if i < 0 || !strings.Contains(fs[i].Message, "cannot write to pool "+env.CephPool) ||
		!strings.Contains(fs[i].Fix, "profile rbd pool=t-doc-elsewhere, profile rbd pool="+env.CephPool) {
		t.Fatalf("with admin: %+v; want a finding from the user's caps", fs)
	}
	t.Logf("found (caps): %s | %s | %s", fs[i].Message, fs[i].Evidence, fs[i].Fix)
	if strings.Contains(fs[i].Evidence+fs[i].Message+fs[i].Fix, string(key)) {
		t.Fatal("the finding carries the user's key")
	}

	// The fix the finding gives, applied.
	adminCmd(t, admin, map[string]any{"prefix": "auth caps", "entity": "client." + user,
		"caps": []string{"mon", "profile rbd", "osd", "profile rbd pool=t-doc-elsewhere, profile rbd pool=" + env.CephPool}})
	if fs := findings(diagnose(t, c, ceph.DoctorOptions{Pools: []string{env.CephPool}, Admin: adminConfig(env)}), ceph.CheckUserCaps, "client."+user); len(fs) != 0 {
		t.Errorf("after the fix: %+v", fs)
	}
}

// A cluster flag (noout) makes a health finding at once (the monitors
// compute OSDMAP_FLAGS themselves); the finding's fix clears it.
func TestLabDoctorHealth(t *testing.T) {
	env := lab.Need(t)
	admin := labAdmin(t, env)
	adminCmd(t, admin, map[string]any{"prefix": "osd set", "key": "noout"})
	t.Cleanup(func() { adminCmd(t, admin, map[string]any{"prefix": "osd unset", "key": "noout"}) })
	fs := findings(diagnose(t, labConfig(env), ceph.DoctorOptions{}), ceph.CheckHealth, "ceph cluster")
	i := slices.IndexFunc(fs, func(f model.Finding) bool { return strings.Contains(f.Message, "OSDMAP_FLAGS") })
	if i < 0 || !strings.Contains(fs[i].Fix, "ceph osd unset noout") || !strings.Contains(fs[i].Evidence, "noout flag(s) set") {
		t.Fatalf("health findings with noout set: %+v", fs)
	}
	t.Logf("found: %s | %s | %s", fs[i].Message, fs[i].Evidence, fs[i].Fix)
	adminCmd(t, admin, map[string]any{"prefix": "osd unset", "key": "noout"})
	waitFor(t, "OSDMAP_FLAGS to clear", func() bool {
		fs := findings(diagnose(t, labConfig(env), ceph.DoctorOptions{}), ceph.CheckHealth, "ceph cluster")
		return !slices.ContainsFunc(fs, func(f model.Finding) bool { return strings.Contains(f.Message, "OSDMAP_FLAGS") })
	})
}

// A nearfull ratio tightened below what the lab pool uses makes a pool
// finding; the ratio is restored and the cluster left without
// OSD_NEARFULL.
func TestLabDoctorPoolNearFull(t *testing.T) {
	env := lab.Need(t)
	admin := labAdmin(t, env)
	cl, err := ceph.Connect(t.Context(), labConfig(env))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	// The pool must hold data of this test's own until the diagnosis:
	// what other tests wrote may still be counted by df (its figures lag
	// behind a removal) and then vanish, and a ratio under a hundredth of
	// that would no longer be crossed. So write 4 MiB into an image of
	// its own and wait until df counts them.
	io, err := admin.OpenIOContext(env.CephPool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(io.Destroy)
	const own = 4 << 20
	name := "t-doc-full-" + uniq(t)
	if err := rbd.CreateImage(io, name, own, rbd.NewRbdImageOptions()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeImage(t, io, name) })
	img, err := rbd.OpenImage(io, name, rbd.NoSnapshot)
	if err != nil {
		t.Fatal(err)
	}
	_, err = img.WriteAt([]byte(strings.Repeat("f", own)), 0)
	if cerr := img.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	before, err := cl.Cluster(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(before.Pools, func(p model.CephPool) bool { return p.Name == env.CephPool })
	if i < 0 || before.Pools[i].UsedBytes+before.Pools[i].MaxAvailBytes == 0 {
		t.Fatalf("pool %s in df: %+v", env.CephPool, before.Pools)
	}
	t.Cleanup(func() {
		adminCmd(t, admin, map[string]any{"prefix": "osd set-nearfull-ratio", "ratio": before.NearfullRatio})
		waitFor(t, "OSD_NEARFULL to clear", func() bool {
			h, err := cl.Health(context.Background())
			return err == nil && !slices.ContainsFunc(h.Checks, func(c model.CephHealthCheck) bool { return strings.HasSuffix(c.Code, "NEARFULL") })
		})
	})
	// A hundredth of the share this test's own 4 MiB take (a lower bound:
	// replicas only add to it): whatever else comes and goes in the pool,
	// those stay until its cleanup. df counts them a little after the
	// write, so the diagnosis is read until it sees them; the bound is
	// waitFor's backstop, and a doctor that never warns fails there.
	p := before.Pools[i]
	tight := float64(own) / float64(p.UsedBytes+p.MaxAvailBytes) * before.FullRatio / 100
	adminCmd(t, admin, map[string]any{"prefix": "osd set-nearfull-ratio", "ratio": tight})
	var fs []model.Finding
	waitFor(t, fmt.Sprintf("a warning on pool %s at nearfull ratio %g", env.CephPool, tight), func() bool {
		fs = findings(diagnose(t, labConfig(env), ceph.DoctorOptions{}), ceph.CheckPoolFull, "ceph pool "+env.CephPool+" ")
		return len(fs) > 0
	})
	if len(fs) != 1 || fs[0].Severity != model.SeverityWarning || !strings.Contains(fs[0].Evidence, "nearfull_ratio") {
		t.Fatalf("nearfull ratio %g: %+v; want one warning on pool %s", tight, fs, env.CephPool)
	}
	t.Logf("found: %s | %s", fs[0].Message, fs[0].Evidence)
}

// waitFor polls cond until it holds; the bound is a backstop for a stuck
// cluster, not a timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Errorf("waited 2 minutes for %s", what)
			return
		case <-tick.C:
		}
	}
}

// An unreachable monitor is a finding naming the cause, within the
// configured timeout: a closed port, a port that accepts and never speaks,
// and a wrong key.
func TestLabDoctorMonitorUnreachable(t *testing.T) {
	env := lab.Need(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	hole := lab.NewBlackHole(t)
	const timeout = 3 * time.Second
	for name, c := range map[string]ceph.Config{
		"closed port": {Monitors: []string{closed}, User: env.CephUser, Keyring: env.CephKeyring, Timeout: timeout},
		"black hole":  {Monitors: []string{hole.Addr}, User: env.CephUser, Keyring: env.CephKeyring, Timeout: timeout},
	} {
		t.Run(name, func(t *testing.T) {
			// The slack is generous: the test asserts Diagnose returns on
			// its own (librados's timeouts), not how fast.
			ctx, cancel := context.WithTimeout(context.Background(), timeout+2*time.Minute)
			defer cancel()
			fs, err := ceph.Diagnose(ctx, c, ceph.DoctorOptions{Pools: []string{env.CephPool}})
			if ctx.Err() != nil {
				t.Fatalf("Diagnose ran into the test's backstop: it did not bound itself by the %s timeout", timeout)
			}
			if err != nil || len(fs) != 1 || fs[0].Check != ceph.CheckMonitor || !strings.Contains(fs[0].Message, "answered within 3s") {
				t.Fatalf("findings %+v, err %v; want one monitor finding naming the timeout", fs, err)
			}
			t.Logf("found: %s | %s", fs[0].Message, fs[0].Evidence)
		})
	}
	t.Run("wrong key", func(t *testing.T) {
		key := wrongKey(t, env.CephKeyring)
		defer clear(key)
		c := ceph.Config{ConfFile: env.CephConf, User: env.CephUser, Key: key, Timeout: timeout}
		fs, err := ceph.Diagnose(t.Context(), c, ceph.DoctorOptions{})
		if err != nil || len(fs) != 1 || fs[0].Check != ceph.CheckMonitor || !strings.Contains(fs[0].Message, "refused client."+env.CephUser+"'s key") {
			t.Fatalf("findings %+v, err %v; want the key named as the cause", fs, err)
		}
		if strings.Contains(fs[0].Evidence+fs[0].Fix, string(key)) {
			t.Fatal("the finding carries the key")
		}
		t.Logf("found: %s | %s", fs[0].Message, fs[0].Evidence)
	})
}

// wrongKey is the keyring's key with its secret's last byte changed: well
// formed, but not the user's.
func wrongKey(t *testing.T, keyring string) []byte {
	t.Helper()
	f, err := os.Open(keyring)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.TrimSpace(k) != "key" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil || len(raw) == 0 {
			t.Fatalf("the key in %s is not base64", keyring)
		}
		raw[len(raw)-1] ^= 0xff
		out := []byte(base64.StdEncoding.EncodeToString(raw))
		clear(raw)
		return out
	}
	t.Fatalf("no key line in %s", keyring)
	return nil
}

// A pool at its object quota makes a critical finding; raising the quota
// as its fix says clears it. A pool of its own, so that nothing else
// meets the quota.
func TestLabDoctorPoolQuota(t *testing.T) {
	env := lab.Need(t)
	admin := labAdmin(t, env)
	pool := "t-doc-quota-" + uniq(t)
	if err := makeRBDPool(admin, pool); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := admin.DeletePool(pool); err != nil {
			t.Errorf("delete pool %s: %v", pool, err)
		}
	})
	cl, err := ceph.Connect(t.Context(), adminConfig(env))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if err := cl.CreateImage(pool, "t-doc-q", 8<<20); err != nil {
		t.Fatal(err)
	}
	// df's figures come from the OSDs' statistics, a few seconds late.
	var objects uint64
	waitFor(t, "df to count the new pool's objects", func() bool {
		c, err := cl.Cluster(t.Context())
		if i := slices.IndexFunc(c.Pools, func(p model.CephPool) bool { return p.Name == pool }); err == nil && i >= 0 {
			objects = c.Pools[i].Objects
		}
		return objects > 0
	})
	if objects == 0 {
		t.FailNow()
	}
	setQuota := func(n uint64) {
		adminCmd(t, admin, map[string]any{"prefix": "osd pool set-quota", "pool": pool, "field": "max_objects", "val": strconv.FormatUint(n, 10)})
	}
	setQuota(objects)
	fs := findings(diagnose(t, adminConfig(env), ceph.DoctorOptions{}), ceph.CheckPoolQuota, "ceph pool "+pool+" ")
	if len(fs) != 1 || fs[0].Severity != model.SeverityCritical || !strings.Contains(fs[0].Fix, "max_objects "+strconv.FormatUint(2*objects, 10)) {
		t.Fatalf("pool at its quota of %d objects: %+v", objects, fs)
	}
	t.Logf("found: %s | %s | %s", fs[0].Message, fs[0].Evidence, fs[0].Fix)
	setQuota(2 * objects)
	if fs := findings(diagnose(t, adminConfig(env), ceph.DoctorOptions{}), ceph.CheckPoolQuota, "ceph pool "+pool+" "); len(fs) != 0 {
		t.Errorf("after raising the quota: %+v", fs)
	}
}
