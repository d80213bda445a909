package ceph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"stowage/model"
)

// oneSentence: a finding's message is one sentence that says what is
// wrong and, after a colon, what it costs.
func oneSentence(t *testing.T, f model.Finding) {
	t.Helper()
	m := f.Message
	if !strings.HasSuffix(m, ".") || strings.Count(strings.TrimSuffix(m, "."), ". ") > 0 || !strings.Contains(m, ":") {
		t.Errorf("%s: message %q is not one sentence with its consequence", f.Check, m)
	}
	if f.Evidence == "" || f.Object == "" || f.Check == "" {
		t.Errorf("%s: missing evidence, object or check: %+v", f.Check, f)
	}
}

func TestHealthFindings(t *testing.T) {
	h, err := parseHealth([]byte(healthWarnJSON))
	if err != nil {
		t.Fatal(err)
	}
	fs := healthFindings("fsid1", h)
	if len(fs) != 2 { // POOL_FULL is muted
		t.Fatalf("findings = %+v; want OSDMAP_FLAGS and OSD_NEARFULL, the muted POOL_FULL left out", fs)
	}
	for _, f := range fs {
		oneSentence(t, f)
		if f.Severity != model.SeverityWarning || f.Check != CheckHealth || f.Object != "ceph cluster fsid1" {
			t.Errorf("finding %+v", f)
		}
	}
	if !strings.Contains(fs[0].Fix, "ceph osd unset noout") {
		t.Errorf("OSDMAP_FLAGS fix = %q; want the unset command", fs[0].Fix)
	}
	if !strings.Contains(fs[1].Evidence, "osd.0 is near full") || !strings.Contains(fs[1].Message, "full ratio") {
		t.Errorf("OSD_NEARFULL finding = %+v; want the detail as evidence and the consequence", fs[1])
	}
	h.Checks = []model.CephHealthCheck{{Code: "PG_DAMAGED", Severity: "HEALTH_ERR", Summary: "Possible data damage"}}
	if fs := healthFindings("c", h); len(fs) != 1 || fs[0].Severity != model.SeverityCritical {
		t.Errorf("HEALTH_ERR → %+v; want one critical finding", fs)
	}
}

func TestPoolFindings(t *testing.T) {
	c := model.CephCluster{TotalBytes: 100 << 30, NearfullRatio: 0.85, FullRatio: 0.95, Pools: []model.CephPool{
		{Name: "ok", PercentUsed: 0.5, MaxAvailBytes: 10 << 30},
		{Name: "near", PercentUsed: 0.9, MaxAvailBytes: 1 << 30},                     // 0.9 ≥ 0.85/0.95
		{Name: "full", PercentUsed: 1, MaxAvailBytes: 0},                             // nothing left
		{Name: "quota", StoredBytes: 90, QuotaMaxBytes: 100, MaxAvailBytes: 1 << 30}, // 90% of quota
		{Name: "objs", Objects: 10, QuotaMaxObjects: 10, MaxAvailBytes: 1 << 30},     // at quota
	}}
	got := map[string]model.Finding{}
	for _, f := range poolFindings("c", c) {
		oneSentence(t, f)
		got[strings.Fields(f.Object)[2]+" "+f.Check] = f
	}
	if len(got) != 4 {
		t.Errorf("findings for %v; want near, full, quota, objs", got)
	}
	for key, sev := range map[string]model.Severity{
		"near " + CheckPoolFull: model.SeverityWarning, "full " + CheckPoolFull: model.SeverityCritical,
		"quota " + CheckPoolQuota: model.SeverityWarning, "objs " + CheckPoolQuota: model.SeverityCritical,
	} {
		if f, ok := got[key]; !ok || f.Severity != sev {
			t.Errorf("%s: %+v; want severity %v", key, f, sev)
		}
	}
	if f := got["quota "+CheckPoolQuota]; !strings.Contains(f.Fix, "ceph osd pool set-quota quota max_bytes 200") {
		t.Errorf("quota fix = %q", f.Fix)
	}
}

var (
	deadLocker = model.RBDLocker{Client: "client.4200", Cookie: "auto 1", Address: "127.0.0.1:0/111", Host: "127.0.0.1", Exclusive: true}
	liveLocker = model.RBDLocker{Client: "client.4300", Cookie: "vm-a", Address: "10.0.0.5:0/222", Host: "10.0.0.5"}
	liveWatch  = model.RBDWatcher{Address: "v1:10.0.0.5:0/222", Host: "10.0.0.5", Client: 4300, Cookie: 9}
)

func TestStaleLocks(t *testing.T) {
	img := model.RBDImage{Pool: "p", Name: "d", Lockers: []model.RBDLocker{deadLocker, liveLocker}, Watchers: []model.RBDWatcher{liveWatch}}
	stale := StaleLocks(img)
	if len(stale) != 1 || stale[0] != deadLocker {
		t.Fatalf("stale = %+v; want only the locker without a watch", stale)
	}
	// A watcher on the same IP but another nonce is another process.
	img.Watchers = append(img.Watchers, model.RBDWatcher{Address: "127.0.0.1:0/999", Host: "127.0.0.1", Client: 5})
	if stale := StaleLocks(img); len(stale) != 1 {
		t.Errorf("stale = %+v; another process on the locker's IP does not keep its lock alive", stale)
	}
	bl := []model.CephBlocklistEntry{{Address: "127.0.0.1:0/111", Host: "127.0.0.1", Until: "2026-11-30"}}
	fs := lockFindings(img, bl)
	if len(fs) != 1 {
		t.Fatalf("lock findings = %+v", fs)
	}
	f := fs[0]
	oneSentence(t, f)
	a := f.Action
	if f.Check != CheckStaleLock || f.Object != "rbd image p/d" || a == nil || a.Kind != model.FixBreakLock || a.Target != "p/d" ||
		a.Detail["locker"] != "client.4200" || a.Detail["cookie"] != "auto 1" {
		t.Errorf("finding = %+v action %+v", f, a)
	}
	for _, want := range []string{"exclusive", "blocklisted until 2026-11-30", "client.4200"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message %q lacks %q", f.Message, want)
		}
	}
	if !strings.Contains(f.Fix, "rbd lock rm p/d 'auto 1' client.4200") || !strings.Contains(f.Evidence, "rbd list watchers p/d: client.4300") {
		t.Errorf("fix %q / evidence %q", f.Fix, f.Evidence)
	}
}

func TestWatchFindings(t *testing.T) {
	one := model.RBDImage{Pool: "p", Name: "d", Watchers: []model.RBDWatcher{liveWatch}}
	if fs := watchFindings(one); len(fs) != 0 {
		t.Errorf("one watcher: %+v", fs)
	}
	two := one
	two.Watchers = []model.RBDWatcher{liveWatch, {Address: "10.0.0.6:0/3", Host: "10.0.0.6", Client: 4400}}
	fs := watchFindings(two)
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "open on 2 hosts (10.0.0.5, 10.0.0.6)") {
		t.Fatalf("two hosts: %+v", fs)
	}
	oneSentence(t, fs[0])
	same := one
	same.Watchers = []model.RBDWatcher{liveWatch, {Address: "10.0.0.5:0/4", Host: "10.0.0.5", Client: 4401}}
	fs = watchFindings(same)
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "open by 2 clients on host 10.0.0.5") {
		t.Fatalf("two clients on one host: %+v", fs)
	}
}

func TestBlocklistFindings(t *testing.T) {
	bl := []model.CephBlocklistEntry{
		{Address: "127.0.0.1:0/111", Host: "127.0.0.1", Until: "U1"},
		{Address: "192.0.2.7:0/1234", Host: "192.0.2.7", Until: "U2"},
	}
	imgs := []model.RBDImage{{Pool: "p", Name: "d", Lockers: []model.RBDLocker{deadLocker}}}
	fs := blocklistFindings("c", bl, imgs)
	if len(fs) != 2 {
		t.Fatalf("findings = %+v", fs)
	}
	for _, f := range fs {
		oneSentence(t, f)
	}
	if fs[0].Severity != model.SeverityWarning || !strings.Contains(fs[0].Message, `p/d (client.4200, cookie "auto 1")`) {
		t.Errorf("a blocklisted client holding a lock: %+v", fs[0])
	}
	if fs[1].Severity != model.SeverityInfo || !strings.Contains(fs[1].Fix, "ceph osd blocklist rm 192.0.2.7:0/1234") {
		t.Errorf("a blocklisted client holding nothing: %+v", fs[1])
	}
}

func TestPoolAccess(t *testing.T) {
	for _, c := range []struct{ caps, pool, want string }{
		{"profile rbd pool=stowage", "stowage", AccessReadWrite},
		{"profile rbd pool=stowage", "other", AccessNone},
		{"profile rbd", "any", AccessReadWrite},
		{"profile rbd-read-only pool=a, profile rbd pool=b", "a", AccessReadOnly},
		{"profile rbd-read-only pool=a, profile rbd pool=b", "b", AccessReadWrite},
		{"allow rwx pool=a", "a", AccessReadWrite},
		{"allow r pool=a", "a", AccessReadOnly},
		{"allow *", "x", AccessReadWrite},
		{"allow pool a rwx", "a", AccessReadWrite},
		{"allow rwx pool=a namespace=n", "a", AccessReadWrite},
		{"", "a", AccessNone},
	} {
		if got, _ := PoolAccess(c.caps, c.pool); got != c.want {
			t.Errorf("PoolAccess(%q, %q) = %s; want %s", c.caps, c.pool, got, c.want)
		}
	}
	caps := model.CephUserCaps{Entity: "client.t", Mon: "profile rbd", OSD: "profile rbd pool=other"}
	fs := capsFindings(caps, "stowage")
	if len(fs) != 1 || fs[0].Severity != model.SeverityCritical {
		t.Fatalf("caps findings = %+v", fs)
	}
	oneSentence(t, fs[0])
	if !strings.Contains(fs[0].Fix, "osd 'profile rbd pool=other, profile rbd pool=stowage'") {
		t.Errorf("fix %q must keep the user's other grants (ceph auth caps replaces them)", fs[0].Fix)
	}
	if fs := capsFindings(caps, "other"); len(fs) != 0 {
		t.Errorf("covered pool: %+v", fs)
	}
}

type codedErr int

func (c codedErr) Error() string  { return fmt.Sprintf("rados: ret=%d", int(c)) }
func (c codedErr) ErrorCode() int { return int(c) }

func TestMonitorFinding(t *testing.T) {
	c := Config{Monitors: []string{"127.0.0.1:1"}, User: "libvirt", Key: []byte("k")}
	for err, want := range map[error]string{
		fmt.Errorf("connect: %w", codedErr(-int(syscall.ETIMEDOUT))): "answered within 30s",
		fmt.Errorf("connect: %w", context.DeadlineExceeded):          "answered within",
		fmt.Errorf("connect: %w", codedErr(-int(syscall.EACCES))):    "refused client.libvirt's key",
		fmt.Errorf("connect: %w", codedErr(-int(syscall.ENOENT))):    "file is missing",
		errors.New("something else"):                                 "Cannot connect to the monitors at 127.0.0.1:1",
	} {
		f := monitorFinding(c, err)
		oneSentence(t, f)
		if !strings.Contains(f.Message, want) || f.Severity != model.SeverityCritical || !strings.Contains(f.Evidence, err.Error()) {
			t.Errorf("%v → %+v; want a message with %q and the error as evidence", err, f, want)
		}
	}
	if k := monitorFinding(c, errors.New("x")); strings.Contains(k.Evidence+k.Fix+k.Message, "k)") {
		t.Errorf("the key leaks: %+v", k)
	}
}
