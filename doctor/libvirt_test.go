package doctor

import (
	"strings"
	"testing"

	"stowage/model"
)

const uri = "qemu:///system"

// host is a small inventory: a dir pool and an rbd pool, one VM using
// both, secrets as given. Link derives attachments and orphans as the
// real inventory does.
func host(mut func(h *model.HostInfo)) model.HostInfo {
	h := model.HostInfo{URI: uri, LibvirtVersion: "9.0.0", SecretsKnown: true, Secrets: []model.SecretInfo{}}
	h.Pools = []model.PoolInfo{
		{Pool: model.Pool{Name: "images", Type: model.PoolDir, Active: true, Persistent: true, Autostart: true,
			Capacity: 100 << 30, Available: 50 << 30, Allocation: 50 << 30, TargetPath: "/var/lib/images"},
			VolumesLoaded: true, Volumes: []model.VolumeInfo{
				{Volume: model.Volume{Name: "web.qcow2", Pool: "images", Path: "/var/lib/images/web.qcow2", Capacity: 10 << 30}},
			}},
		{Pool: model.Pool{Name: "ceph", Type: model.PoolRBD, Active: true, Persistent: true, Autostart: true,
			Capacity: 100 << 30, Available: 90 << 30, SourceName: "vms"},
			VolumesLoaded: true, Volumes: []model.VolumeInfo{
				{Volume: model.Volume{Name: "db", Pool: "ceph", Path: "vms/db", Capacity: 10 << 30}},
			}},
	}
	h.Domains = []model.Domain{{Name: "web", State: "shutoff", Persistent: true, Disks: []model.Disk{
		{Target: "vda", Device: "disk", SourceType: "file", Source: "/var/lib/images/web.qcow2"},
		{Target: "vdb", Device: "disk", SourceType: "network", Source: "rbd:vms/db"},
	}}}
	if mut != nil {
		mut(&h)
	}
	h.Link()
	return h
}

func checks(fs []model.Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Severity.String()+" "+f.Check+" "+f.Object)
	}
	return strings.Join(out, "\n")
}

func TestHealthyHostHasNoFindings(t *testing.T) {
	if fs := Libvirt(host(nil)); len(fs) != 0 {
		t.Fatalf("a healthy host: want no findings, got\n%s", checks(fs))
	}
}

func TestInactivePoolInUse(t *testing.T) {
	fs := Libvirt(host(func(h *model.HostInfo) { h.Pools[0].Active = false }))
	if len(fs) != 1 || fs[0].Check != "pool.inactive-in-use" || fs[0].Severity != model.SeverityWarning {
		t.Fatalf("want one warning pool.inactive-in-use, got\n%s", checks(fs))
	}
	f := fs[0]
	if f.Action == nil || f.Action.Kind != model.FixStartPool || f.Action.Target != "images" || !strings.Contains(f.Fix, "--fix start-pool:images") {
		t.Fatalf("fix %q action %+v: want start-pool:images", f.Fix, f.Action)
	}
	if !strings.Contains(f.Evidence, "web vda → /var/lib/images/web.qcow2") {
		t.Fatalf("evidence %q: want the disk that uses the pool", f.Evidence)
	}
	// A disk naming the pool (<source pool=… volume=…>) cannot start at all.
	fs = Libvirt(host(func(h *model.HostInfo) {
		h.Pools[0].Active = false
		h.Domains[0].Disks[0] = model.Disk{Target: "vda", Device: "disk", SourceType: "volume", Pool: "images", Volume: "web.qcow2", Source: "images/web.qcow2"}
	}))
	if len(fs) != 1 || fs[0].Severity != model.SeverityCritical || !strings.Contains(fs[0].Message, "will not start") {
		t.Fatalf("volume disk in an inactive pool: want critical, got\n%s", checks(fs))
	}
}

func TestPoolWithoutAutostartInUse(t *testing.T) {
	fs := Libvirt(host(func(h *model.HostInfo) { h.Pools[1].Autostart = false }))
	if len(fs) != 1 || fs[0].Check != "pool.no-autostart-in-use" || fs[0].Action.Kind != model.FixAutostartPool || fs[0].Action.Target != "ceph" {
		t.Fatalf("want the rbd pool's autostart finding, got\n%s", checks(fs))
	}
	// Nobody uses it: nothing to say.
	fs = Libvirt(host(func(h *model.HostInfo) { h.Pools[1].Autostart = false; h.Domains = nil }))
	if len(fs) != 0 {
		t.Fatalf("unused pool without autostart: want nothing, got\n%s", checks(fs))
	}
}

func TestDiskWhoseVolumeIsGone(t *testing.T) {
	fs := Libvirt(host(func(h *model.HostInfo) { h.Pools[1].Volumes = nil }))
	if len(fs) != 1 || fs[0].Check != "disk.volume-gone" || fs[0].Object != "disk vdb of VM web on "+uri {
		t.Fatalf("want disk vdb's volume gone, got\n%s", checks(fs))
	}
	if !fs[0].Concerns("web") || !fs[0].Concerns("ceph/db") || !fs[0].Concerns("ceph") || fs[0].Concerns("images") {
		t.Fatalf("related %v: want VM web, drive ceph/db, pool ceph, not images", fs[0].Related)
	}
	if !strings.Contains(fs[0].Fix, "detach-disk web vdb --config") {
		t.Fatalf("fix %q: want the exact detach command", fs[0].Fix)
	}
	// Not judged while the pool's volumes are not all known.
	fs = Libvirt(host(func(h *model.HostInfo) { h.Pools[1].Volumes = nil; h.Pools[1].VolumesNotListed = 3 }))
	if len(fs) != 0 {
		t.Fatalf("a pool with unlisted volumes: want no verdict, got\n%s", checks(fs))
	}
}

func TestEncryptedDiskSecret(t *testing.T) {
	enc := func(h *model.HostInfo) {
		h.Domains[0].Disks[1].Encryption = &model.Encryption{Format: "luks2", Engine: "librbd", SecretUUID: "0000-1"}
	}
	fs := Libvirt(host(enc))
	if len(fs) != 1 || fs[0].Check != "disk.secret-missing" || fs[0].Severity != model.SeverityCritical {
		t.Fatalf("missing secret: want critical disk.secret-missing, got\n%s", checks(fs))
	}
	a := fs[0].Action
	if a == nil || a.Kind != model.FixSetSecret || a.Target != "0000-1" || a.Detail["usage_id"] != "vms/db" {
		t.Fatalf("action %+v: want set-secret 0000-1 for usage vms/db", a)
	}
	fs = Libvirt(host(func(h *model.HostInfo) {
		enc(h)
		h.Secrets = []model.SecretInfo{{Secret: model.Secret{UUID: "0000-1", UsageType: "volume", UsageID: "vms/db"}, Value: model.ValueUnset}}
	}))
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "has no value") {
		t.Fatalf("secret without value: got\n%s", checks(fs))
	}
	// Private secrets (all stowage makes) hide whether they hold a value:
	// no finding rather than a guess.
	fs = Libvirt(host(func(h *model.HostInfo) {
		enc(h)
		h.Secrets = []model.SecretInfo{{Secret: model.Secret{UUID: "0000-1", UsageType: "volume", UsageID: "vms/db", Private: true}, Value: model.ValuePrivate}}
	}))
	if len(fs) != 0 {
		t.Fatalf("private secret: want no finding, got\n%s", checks(fs))
	}
}

func TestOrphanSecret(t *testing.T) {
	fs := Libvirt(host(func(h *model.HostInfo) {
		h.Secrets = []model.SecretInfo{{Secret: model.Secret{UUID: "0000-2", UsageType: "volume", UsageID: "/var/lib/images/gone.img"}, Value: model.ValuePrivate}}
	}))
	if len(fs) != 1 || fs[0].Check != "secret.orphan" || fs[0].Severity != model.SeverityInfo || fs[0].Fix != "virsh -c "+uri+" secret-undefine 0000-2" {
		t.Fatalf("want an info orphan with the undefine command, got\n%s", checks(fs))
	}
}

func TestPoolFill(t *testing.T) {
	fs := Libvirt(host(func(h *model.HostInfo) { h.Pools[0].Available = 5 << 30 }))
	if len(fs) != 1 || fs[0].Check != "pool.nearly-full" || fs[0].Severity != model.SeverityWarning || !strings.Contains(fs[0].Message, "95% full") {
		t.Fatalf("95%% full: want a warning, got\n%s", checks(fs))
	}
	fs = Libvirt(host(func(h *model.HostInfo) { h.Pools[0].Available = 1 << 30 }))
	if len(fs) != 1 || fs[0].Severity != model.SeverityCritical {
		t.Fatalf("99%% full: want critical, got\n%s", checks(fs))
	}
	fs = Libvirt(host(func(h *model.HostInfo) {
		h.Pools = append(h.Pools, model.PoolInfo{Pool: model.Pool{Name: "san", Type: model.PoolISCSIDirect, Active: true, Capacity: 1 << 30}, VolumesLoaded: true})
	}))
	if len(fs) != 0 {
		t.Fatalf("an iscsi pool is its LUNs, always full: want nothing, got\n%s", checks(fs))
	}
	fs = Libvirt(host(func(h *model.HostInfo) { h.Pools[0].Volumes[0].Capacity = 150 << 30 }))
	if len(fs) != 1 || fs[0].Check != "pool.overcommitted" || !strings.Contains(fs[0].Message, "150%") {
		t.Fatalf("over-committed: got\n%s", checks(fs))
	}
}

func TestLibrbdHotplug(t *testing.T) {
	unused := func(h *model.HostInfo) {
		h.Domains = nil
		h.Secrets = []model.SecretInfo{{Secret: model.Secret{UUID: "0000-3", UsageType: "volume", UsageID: "vms/db", Private: true}, Value: model.ValuePrivate}}
	}
	fs := Libvirt(host(unused))
	if len(fs) != 1 || fs[0].Check != "rbd.librbd-hotplug" {
		t.Fatalf("libvirt 9.0 with an unattached librbd drive: got\n%s", checks(fs))
	}
	fs = Libvirt(host(func(h *model.HostInfo) { unused(h); h.LibvirtVersion = "10.1.0" }))
	if len(fs) != 0 {
		t.Fatalf("libvirt 10.1: want nothing, got\n%s", checks(fs))
	}
}

func TestFindingsOrderedBySeverity(t *testing.T) {
	fs := Libvirt(host(func(h *model.HostInfo) {
		h.Pools[0].Available = 5 << 30 // warning
		h.Pools[1].Volumes = nil       // critical
		h.Secrets = []model.SecretInfo{{Secret: model.Secret{UUID: "0000-2", UsageType: "volume", UsageID: "/var/lib/images/gone.img"}}}
	}))
	var sev []string
	for _, f := range fs {
		sev = append(sev, f.Severity.String())
	}
	if got := strings.Join(sev, ","); got != "critical,warning,info" {
		t.Fatalf("order %s, want critical,warning,info:\n%s", got, checks(fs))
	}
}
