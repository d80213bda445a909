package app

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"

	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/keys"
	"stowage/ui/views/ceph"
)

// cephFake is the fake backend with the Ceph capability: each read
// answers the next of answers (the last one again once they run out).
type cephFake struct {
	*fake
	mu      sync.Mutex
	answers []cephAnswer
	reads   int
}

type cephAnswer struct {
	views []model.CephView
	err   error
}

func (f *cephFake) Ceph(ctx context.Context, host int) ([]model.CephView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.answers[min(f.reads, len(f.answers)-1)]
	f.reads++
	return a.views, a.err
}

// rbdHost is a host with a dir pool and an rbd pool over Ceph pool "rbd",
// whose drive vm-disk is a disk of VM web1.
func rbdHost() []model.Part {
	return []model.Part{
		{Kind: model.PartVersions, Lib: "9.0.0", HV: "7.2.0"},
		{Kind: model.PartPools, Pools: []model.Pool{
			{Name: "default", Type: model.PoolDir, Active: true, Capacity: 100 << 30},
			{Name: "ceph", Type: model.PoolRBD, Active: true, SourceName: "rbd", Capacity: 8 << 30},
		}},
		{Kind: model.PartVolumes, Pool: "ceph", Volumes: []model.Volume{{Name: "vm-disk", Pool: "ceph", Path: "rbd/vm-disk", Capacity: 1 << 30}}},
		{Kind: model.PartDomains, Domains: []model.Domain{{Name: "web1", State: "running",
			Disks: []model.Disk{{Target: "vdb", Bus: "virtio", SourceType: "network", Source: "rbd:rbd/vm-disk"}}}}},
		{Kind: model.PartSecrets, Secrets: []model.SecretInfo{}},
	}
}

func cephViews(fsid string) []model.CephView {
	return []model.CephView{{Host: "test:///one", User: "client.libvirt",
		Cluster: model.CephCluster{FSID: fsid, Health: model.CephHealth{Status: "HEALTH_OK"}, TotalBytes: 8 << 30, UsedBytes: 1 << 30,
			NearfullRatio: 0.85, Pools: []model.CephPool{{Name: "rbd", PercentUsed: 0.1}, {Name: "other"}}},
		Images: []model.CephImage{{RBDImage: model.RBDImage{Pool: "rbd", Name: "vm-disk", Size: 1 << 30, Encryption: "luks2",
			Lockers: []model.RBDLocker{{Client: "client.4242", Cookie: "c1", Host: "127.0.0.1"}}},
			LibvirtPool: "ceph", VMs: []string{"web1"}}},
	}}
}

func newCephModel(t *testing.T, answers ...cephAnswer) (*Model, *cephFake) {
	t.Helper()
	f := &cephFake{fake: &fake{uris: []string{"test:///one"}, parts: [][]model.Part{rbdHost()}, err: []error{nil}}, answers: answers}
	m := newModelFrom(t, f, Deps{Keys: keys.Default()})
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 30})
	return m, f
}

func rowText(t *testing.T, m *Model) string {
	t.Helper()
	var b strings.Builder
	for _, r := range topList(t, m).Table().Rows() {
		b.WriteString(strings.Join(r.Cells, "|") + "\n")
	}
	return b.String()
}

// The view key opens the clusters; Enter drills to the cluster's pools,
// the pool's images and one image, each read from the one Ceph read;
// Esc walks back up.
func TestCephViewDrillsDown(t *testing.T) {
	m, f := newCephModel(t, cephAnswer{views: cephViews("f00d")})
	km := keys.Default()
	selectRow(t, m, "default")
	press(t, m, km.Ceph) // on a dir pool: every cluster
	if l := topList(t, m); l.Kind() != ceph.ClustersName || l.Table().Len() != 1 {
		t.Fatalf("ceph key opened %s with %d rows", l.Kind(), l.Table().Len())
	}
	if !strings.Contains(rowText(t, m), "f00d|client.libvirt|HEALTH_OK") {
		t.Errorf("cluster row:\n%s", rowText(t, m))
	}
	press(t, m, km.Enter)
	if l := topList(t, m); l.Kind() != ceph.PoolsName || l.Table().Len() != 2 {
		t.Fatalf("enter opened %s with %d rows:\n%s", l.Kind(), l.Table().Len(), rowText(t, m))
	}
	// The pool the host uses names its libvirt pool; the other was not read.
	rows := rowText(t, m)
	if !strings.Contains(rows, "|ceph|1\n") || !strings.Contains(rows, "other|") || !strings.Contains(rows, "|-|-\n") {
		t.Errorf("pools:\n%s", rows)
	}
	selectRow(t, m, "rbd")
	press(t, m, km.Enter)
	if l := topList(t, m); l.Kind() != ceph.ImagesName || l.Table().Len() != 1 {
		t.Fatalf("enter opened %s with %d rows", l.Kind(), l.Table().Len())
	}
	if row := rowText(t, m); !strings.Contains(row, "rbd/vm-disk|") || !strings.Contains(row, "|client.4242@127.0.0.1|") ||
		!strings.HasSuffix(row, "|ceph|web1\n") {
		t.Errorf("image row: %s", row)
	}
	press(t, m, km.Enter)
	if l := topList(t, m); l.Kind() != ceph.ImageName || !strings.Contains(rowText(t, m), "locker|client.4242 at") {
		t.Fatalf("enter opened %s:\n%s", l.Kind(), rowText(t, m))
	}
	if f.reads != 1 {
		t.Errorf("%d Ceph reads for one view and its drill-down, want 1", f.reads)
	}
	for _, want := range []string{ceph.ImagesName, ceph.PoolsName, ceph.ClustersName} {
		press(t, m, km.Back)
		if l := topList(t, m); l.Kind() != want {
			t.Fatalf("esc went to %s, want %s", l.Kind(), want)
		}
	}
}

// On an rbd pool's row the key opens its images, on its drive the image,
// on top of the row's screen.
func TestCephKeyOnRBDRows(t *testing.T) {
	m, _ := newCephModel(t, cephAnswer{views: cephViews("f00d")})
	km := keys.Default()
	selectRow(t, m, "ceph")
	depth := len(m.Stack())
	press(t, m, km.Ceph)
	l := topList(t, m)
	if l.Kind() != ceph.ImagesName || l.Scope().Pool != "rbd" || len(m.Stack()) != depth+1 || l.Table().Len() != 1 {
		t.Fatalf("on an rbd pool: %s scoped %+v, %d rows", l.Kind(), l.Scope(), l.Table().Len())
	}
	press(t, m, km.Back)
	press(t, m, km.Enter) // the rbd pool's drives
	selectRow(t, m, "ceph/vm-disk")
	press(t, m, km.Ceph)
	if l := topList(t, m); l.Kind() != ceph.ImageName || !strings.Contains(rowText(t, m), "VMs|web1") {
		t.Fatalf("on an rbd drive: %s\n%s", l.Kind(), rowText(t, m))
	}
	if !strings.Contains(m.HelpText(), km.Ceph.Help().Desc) {
		t.Error("`?` does not show the Ceph key")
	}
}

// A read answered after a newer one started is dropped: the rows are the
// newer read's.
func TestCephStaleReadDropped(t *testing.T) {
	m, _ := newCephModel(t, cephAnswer{views: cephViews("old")}, cephAnswer{views: cephViews("new")})
	older := m.d.Store.ReadCeph(0)() // answered "old", then superseded
	newer := m.d.Store.ReadCeph(0)()
	m.Update(newer)
	m.Update(older)
	if v := m.d.Store.CephOf(0).Views; len(v) != 1 || v[0].Cluster.FSID != "new" {
		t.Fatalf("store holds %+v after a stale answer", v)
	}
	selectRow(t, m, "default")
	press(t, m, keys.Default().Ceph)
	if rows := rowText(t, m); !strings.HasPrefix(rows, "new|") {
		t.Errorf("rows after a stale answer:\n%s", rows)
	}
}

// A failed read is a message in the footer and the screen's empty text;
// a failed re-read keeps the rows and says so under them.
func TestCephErrorShown(t *testing.T) {
	m, _ := newCephModel(t, cephAnswer{err: errors.New("no answer from Ceph within 4s")},
		cephAnswer{views: cephViews("f00d")}, cephAnswer{err: errors.New("monitor refused")})
	km := keys.Default()
	selectRow(t, m, "default")
	press(t, m, km.Ceph)
	if v := m.View().Content; !strings.Contains(v, "Cannot read Ceph: test:///one: no answer from Ceph within 4s") ||
		!strings.Contains(v, "Ceph of test:///one: no answer") {
		t.Fatalf("failed read not shown:\n%s", v)
	}
	press(t, m, km.Refresh)
	if topList(t, m).Table().Len() != 1 {
		t.Fatalf("refresh did not re-read Ceph:\n%s", m.View().Content)
	}
	press(t, m, km.Refresh)
	v := m.View().Content
	if topList(t, m).Table().Len() != 1 || !strings.Contains(v, "Last Ceph read failed, showing the one before") ||
		!strings.Contains(v, "monitor refused") {
		t.Errorf("failed re-read:\n%s", v)
	}
}

// A backend without the Ceph capability gets a view that says so.
func TestCephWithoutCapability(t *testing.T) {
	m := newModel(t, &fake{uris: []string{"test:///one"}, parts: [][]model.Part{rbdHost()}, err: []error{nil}}, common.Actions{})
	press(t, m, keys.Default().Ceph)
	if v := m.View().Content; !strings.Contains(v, "cannot read Ceph") {
		t.Errorf("no word on the missing capability:\n%s", v)
	}
}
