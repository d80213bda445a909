package render

import (
	"errors"
	"strings"
	"testing"

	"github.com/dustin/go-humanize"

	"stowage/model"
)

func cephFixture() model.CephView {
	return model.CephView{
		Host: "qemu:///system", User: "client.libvirt",
		Cluster: model.CephCluster{
			FSID: "f00d", Health: model.CephHealth{Status: "HEALTH_WARN", Checks: []model.CephHealthCheck{
				{Code: "POOL_NO_REDUNDANCY", Severity: "HEALTH_WARN", Summary: "1 pool(s) have no replicas configured"}}},
			TotalBytes: 8 << 30, UsedBytes: 2 << 30, AvailBytes: 6 << 30, NearfullRatio: 0.85, FullRatio: 0.95,
			Pools: []model.CephPool{
				{Name: "rbd", StoredBytes: 1 << 30, UsedBytes: 1 << 30, MaxAvailBytes: 5 << 30, PercentUsed: 0.2, Objects: 300},
				{Name: "full", PercentUsed: 0.9, QuotaMaxBytes: 10 << 30},
			},
		},
		Images: []model.CephImage{
			{RBDImage: model.RBDImage{Pool: "rbd", Name: "vm-disk", ID: "abc", Size: 10 << 30, Used: 1 << 30,
				UsedMethod: "diff-iterate whole-object", Encryption: "luks2", Features: []string{"layering", "exclusive-lock"},
				Watchers:  []model.RBDWatcher{{Address: "10.0.0.5:0/1", Host: "10.0.0.5", Client: 4100, Cookie: 7}},
				Lockers:   []model.RBDLocker{{Client: "client.4100", Cookie: "auto 7", Address: "10.0.0.5:0/1", Host: "10.0.0.5", Exclusive: true}},
				Snapshots: []model.RBDSnapshot{{ID: 4, Name: "before-upgrade", Size: 10 << 30}},
				Parent:    "rbd/golden@base"},
				LibvirtPool: "ceph", VMs: []string{"web1"}},
			{RBDImage: model.RBDImage{Pool: "rbd", Name: "stale", Size: 1 << 30, Encryption: "none",
				Lockers: []model.RBDLocker{{Client: "client.4200", Cookie: "c", Host: "10.0.0.9"}}},
				LibvirtPool: "ceph", VMs: []string{}},
			{RBDImage: model.RBDImage{Pool: "rbd", Name: "broken", Encryption: "unknown", Errors: []string{"open: EPERM"}}, VMs: []string{}},
		},
	}
}

func TestClusterRow(t *testing.T) {
	v := cephFixture()
	r := ClusterRow(v)
	want := []string{"f00d", "client.libvirt", "HEALTH_WARN", humanize.IBytes(2 << 30), humanize.IBytes(8 << 30),
		"██░░░░░░░░  25%", "2", "3", "POOL_NO_REDUNDANCY"}
	if strings.Join(r.Cells, "|") != strings.Join(want, "|") {
		t.Errorf("cells %q, want %q", r.Cells, want)
	}
	if r.Mark != Attention {
		t.Errorf("HEALTH_WARN reads as %v, want attention", r.Mark)
	}
	v.Cluster.Health = model.CephHealth{Status: "HEALTH_OK"}
	if r := ClusterRow(v); r.Mark != Fine || r.Cells[8] != "-" {
		t.Errorf("healthy cluster: mark %v, problems %q", r.Mark, r.Cells[8])
	}
	v.Errors = []string{"images of rbd: timed out"}
	if r := ClusterRow(v); r.Mark != Attention || r.Cells[8] != "1 read failed" {
		t.Errorf("partly read: mark %v, problems %q", r.Mark, r.Cells[8])
	}
	unread := model.CephView{Host: "h", Errors: []string{"no keyring"}}
	if r := ClusterRow(unread); r.Mark != Broken || r.Cells[0] != "(not read)" {
		t.Errorf("unreachable cluster: %q mark %v", r.Cells, r.Mark)
	}
	if d := ClusterDetail(unread); !strings.Contains(d, "not read: no keyring") {
		t.Errorf("detail %q does not name the error", d)
	}
}

func TestCephPoolRow(t *testing.T) {
	v := cephFixture()
	r := CephPoolRow(v.Cluster.Pools[0], 0.85, []string{"ceph"}, 3)
	if r.Mark != Plain || r.Cells[0] != "rbd" || r.Cells[7] != "ceph" || r.Cells[8] != "3" || r.Cells[6] != "-" {
		t.Errorf("used pool: %q mark %v", r.Cells, r.Mark)
	}
	if !strings.HasSuffix(r.Cells[4], " 20%") {
		t.Errorf("usage %q, want 20%%", r.Cells[4])
	}
	r = CephPoolRow(v.Cluster.Pools[1], 0.85, nil, -1)
	if r.Mark != Attention || r.Cells[8] != "-" || r.Cells[7] != "-" || r.Cells[6] != humanize.IBytes(10<<30) {
		t.Errorf("nearfull pool the host does not use: %q mark %v", r.Cells, r.Mark)
	}
	if r := CephPoolRow(model.CephPool{Name: "other"}, 0.85, nil, -1); r.Mark != Idle {
		t.Errorf("a pool no libvirt pool uses reads as %v, want idle", r.Mark)
	}
}

func TestImageRow(t *testing.T) {
	v := cephFixture()
	r := ImageRow(v.Images[0])
	want := []string{"rbd/vm-disk", humanize.IBytes(10 << 30), humanize.IBytes(1 << 30), "luks2", "client.4100@10.0.0.5",
		"client.4100@10.0.0.5 (exclusive)", "1", "rbd/golden@base", "ceph", "web1"}
	if strings.Join(r.Cells, "|") != strings.Join(want, "|") || r.Mark != Plain {
		t.Errorf("cells %q mark %v, want %q plain", r.Cells, r.Mark, want)
	}
	// Locked while nobody watches: the holder may be gone.
	if r := ImageRow(v.Images[1]); r.Mark != Attention || r.Cells[4] != "-" || r.Cells[5] != "client.4200@10.0.0.9" || r.Cells[9] != "-" {
		t.Errorf("stale lock: %q mark %v", r.Cells, r.Mark)
	}
	if r := ImageRow(v.Images[2]); r.Mark != Broken || r.Cells[3] != "unknown" {
		t.Errorf("unreadable image: %q mark %v", r.Cells, r.Mark)
	}
}

func TestImageDetail(t *testing.T) {
	v := cephFixture()
	got := map[string][]string{}
	marks := map[string]Mark{}
	for _, r := range ImageDetail(v.Images[0]) {
		got[r.Cells[0]] = append(got[r.Cells[0]], r.Cells[1])
		marks[r.Cells[0]] = r.Mark
	}
	for what, want := range map[string]string{
		"image": "rbd/vm-disk", "encryption": "luks2", "features": "layering, exclusive-lock", "parent": "rbd/golden@base",
		"libvirt pool": "ceph", "VMs": "web1", "snapshot": "before-upgrade (id 4, 10 GiB)",
		"watcher": "client.4100 at 10.0.0.5:0/1 (host 10.0.0.5, cookie 7)",
		"locker":  `client.4100 at 10.0.0.5:0/1 (host 10.0.0.5, cookie "auto 7", exclusive)`,
		"used":    "1.0 GiB (diff-iterate whole-object)",
	} {
		if len(got[what]) != 1 || got[what][0] != want {
			t.Errorf("%s: %q, want %q", what, got[what], want)
		}
	}
	stale := ImageDetail(v.Images[1])
	var lock Row
	for _, r := range stale {
		if r.Cells[0] == "locker" {
			lock = r
		}
	}
	if lock.Mark != Attention || !strings.Contains(lock.Cells[1], "nobody watches") {
		t.Errorf("stale lock row %q mark %v", lock.Cells, lock.Mark)
	}
	last := ImageDetail(v.Images[2])
	if r := last[len(last)-1]; r.Mark != Broken || r.Cells[1] != "open: EPERM" {
		t.Errorf("error row %q mark %v", r.Cells, r.Mark)
	}
}

func TestCephColumnsMatchRows(t *testing.T) {
	v := cephFixture()
	for name, c := range map[string]struct {
		cols []string
		row  Row
	}{
		"clusters": {ClusterColumns(), ClusterRow(v)},
		"pools":    {CephPoolColumns(), CephPoolRow(v.Cluster.Pools[0], 0.85, nil, -1)},
		"images":   {ImageColumns(), ImageRow(v.Images[0])},
		"image":    {ImageDetailColumns(), ImageDetail(v.Images[0])[0]},
	} {
		if len(c.cols) != len(c.row.Cells) {
			t.Errorf("%s: %d columns, %d cells", name, len(c.cols), len(c.row.Cells))
		}
	}
}

// Names from Ceph and libvirt are escaped once, here.
func TestCephNamesAreEscaped(t *testing.T) {
	v := cephFixture()
	v.Cluster.FSID, v.User = "f\x1b[2J", "client."+evilVM
	v.Cluster.Health.Checks[0].Summary = evilReason
	v.Cluster.Pools[0].Name = evilPool
	im := &v.Images[0]
	im.Name, im.Parent, im.LibvirtPool, im.VMs = evilVol, evilPool+"/x@s", evilPool, []string{evilVM}
	im.Watchers[0].Host, im.Lockers[0].Cookie = "\x1b]0;t\x07", "c\u202e"
	im.Snapshots[0].Name = "s\x7f"
	v.Errors = []string{evilReason}
	var texts []string
	add := func(r Row) { texts = append(texts, r.Cells...) }
	add(ClusterRow(v))
	add(CephPoolRow(v.Cluster.Pools[0], 0.85, []string{evilPool}, 1))
	add(ImageRow(*im))
	for _, r := range ImageDetail(*im) {
		add(r)
	}
	texts = append(texts, ClusterDetail(v), CephTitle("images of "+evilPool, evilURI), CephNote(CephState{Err: errors.New(evilReason)}),
		CephEmpty(CephState{Err: errors.New(evilReason)}), CephEmpty(CephState{What: evilPool}))
	for _, s := range texts {
		if unsafeText(strings.ReplaceAll(s, "\n", "")) {
			t.Errorf("raw control in %q", s)
		}
	}
	all := strings.Join(texts, "\n")
	for _, shown := range []string{`f\x1b[2J`, `vm\u202eevil`, `p\x1b[31mred`, `v\u009b2J\x7f`, `\x1b]0;t\x07`, `s\x7f`} {
		if !strings.Contains(all, shown) {
			t.Errorf("no cell shows %s", shown)
		}
	}
	if strings.Contains(all, `\\x1b`) {
		t.Error("a name was escaped twice")
	}
}

func TestCephEmpty(t *testing.T) {
	for _, c := range []struct {
		s    CephState
		want string
	}{
		{CephState{Loading: true, What: "clusters"}, "Reading Ceph…"},
		{CephState{Err: errors.New("no answer"), What: "clusters"}, "Cannot read Ceph: no answer"},
		{CephState{Loaded: true, Scoped: true, What: "clusters"}, "No active rbd pool on this host points at a Ceph cluster."},
		{CephState{Loaded: true, Unread: true, What: "images"}, "no libvirt pool uses this one"},
	} {
		if got := CephEmpty(c.s); !strings.Contains(got, c.want) {
			t.Errorf("%+v: %q, want %q", c.s, got, c.want)
		}
	}
	if CephNote(CephState{Loaded: true}) != "" {
		t.Error("a read that went well needs no note")
	}
}
