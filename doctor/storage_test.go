package doctor

import (
	"strings"
	"testing"

	"stowage/model"
)

// sanHost is host() plus an iscsi-direct pool, a kernel iscsi pool whose
// LUN a VM uses as a block disk, and a logical pool over VG "vgdata" whose
// LV a VM uses.
func sanHost() model.HostInfo {
	return host(func(h *model.HostInfo) {
		h.Pools = append(h.Pools,
			model.PoolInfo{Pool: model.Pool{Name: "san", Type: model.PoolISCSIDirect, Active: true, Persistent: true},
				VolumesLoaded: true, Volumes: []model.VolumeInfo{{Volume: model.Volume{Name: "unit:0:0:1", Pool: "san"}}}},
			model.PoolInfo{Pool: model.Pool{Name: "kern", Type: model.PoolISCSI, Active: true, Persistent: true, TargetPath: "/dev/disk/by-path"},
				VolumesLoaded: true},
			model.PoolInfo{Pool: model.Pool{Name: "lvm", Type: model.PoolLogical, Active: true, Persistent: true, SourceName: "vgdata", TargetPath: "/dev/vgdata"},
				VolumesLoaded: true, Volumes: []model.VolumeInfo{{Volume: model.Volume{Name: "db", Pool: "lvm", Path: "/dev/vgdata/db"}}}},
		)
		h.Domains = append(h.Domains, model.Domain{Name: "db", State: "running", Disks: []model.Disk{
			{Target: "vda", Device: "disk", SourceType: "block", Source: "/dev/vgdata/db"},
			{Target: "vdb", Device: "disk", SourceType: "block", Source: "/dev/disk/by-path/ip-10.0.2.2:3260-iscsi-iqn.x:t-lun-1"},
			{Target: "vdc", Device: "disk", SourceType: "block", Source: "/dev/disk/by-path/ip-10.0.2.2:3260-iscsi-iqn.x:other-lun-1"},
		}})
	})
}

func TestISCSISessionsHealthy(t *testing.T) {
	probes := []model.ISCSIProbe{
		{Pool: "san", Type: model.PoolISCSIDirect, Call: "virStoragePoolRefresh(san)", Answer: "refreshed"},
		{Pool: "kern", Type: model.PoolISCSI, Call: "…", Answer: "0 of 1 LUNs have no block device on the host"},
	}
	if fs := ISCSISessions(sanHost(), probes); len(fs) != 0 {
		t.Fatalf("reachable targets: want no findings, got\n%s", checks(fs))
	}
}

func TestISCSIDirectTargetGoneStopsPool(t *testing.T) {
	pr := model.ISCSIProbe{Pool: "san", Type: model.PoolISCSIDirect, Portal: "10.0.0.5:3260", Target: "iqn.x:t",
		Call: "virStoragePoolRefresh(san)", Answer: "Failed to login: Target not found(515)", Lost: true, Stopped: true}
	fs := ISCSISessions(sanHost(), []model.ISCSIProbe{pr})
	if len(fs) != 1 || fs[0].Check != "pool.iscsi-session-gone" || fs[0].Severity != model.SeverityCritical {
		t.Fatalf("want one critical pool.iscsi-session-gone, got\n%s", checks(fs))
	}
	f := fs[0]
	for _, want := range []string{"iqn.x:t", "10.0.0.5:3260", "lose their disks", "libvirt stopped the pool"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message lacks %q: %s", want, f.Message)
		}
	}
	if !strings.Contains(f.Evidence, "virStoragePoolRefresh(san): Failed to login") || !strings.Contains(f.Evidence, "virStoragePoolIsActive afterwards: 0") {
		t.Errorf("evidence: %s", f.Evidence)
	}
	if f.Action != nil || !strings.Contains(f.Fix, "virsh -c qemu:///system pool-start san") || !strings.Contains(f.Fix, "back on the SAN") {
		t.Errorf("fix: %q %+v", f.Fix, f.Action)
	}
	if !f.Concerns("san") {
		t.Errorf("related: %v", f.Related)
	}

	// Still active (libvirt did not stop it): the fix is a refresh once the
	// target is back, and there is no stowage action.
	pr.Stopped = false
	f = ISCSISessions(sanHost(), []model.ISCSIProbe{pr})[0]
	if f.Action != nil || !strings.Contains(f.Fix, "virsh -c qemu:///system pool-refresh san") || strings.Contains(f.Message, "stopped") {
		t.Errorf("not stopped: fix %q, action %+v, message %s", f.Fix, f.Action, f.Message)
	}
}

func TestKernelISCSISessionGoneNamesVMAndLogin(t *testing.T) {
	pr := model.ISCSIProbe{Pool: "kern", Type: model.PoolISCSI, Portal: "10.0.2.2:3260", Target: "iqn.x:t",
		Call: "virStoragePoolListAllVolumes(kern) and virConnectListAllNodeDevices(storage)", Answer: "1 of 1 LUNs have no block device on the host: unit:0:0:1",
		Lost: true, GoneLUNs: []string{"unit:0:0:1"}}
	fs := ISCSISessions(sanHost(), []model.ISCSIProbe{pr})
	if len(fs) != 1 {
		t.Fatalf("want one finding, got\n%s", checks(fs))
	}
	f := fs[0]
	if !strings.Contains(f.Message, "VM db") || !strings.Contains(f.Message, "unit:0:0:1") || !f.Concerns("db") {
		t.Errorf("message/related: %s %v", f.Message, f.Related)
	}
	if want := "iscsiadm --mode node --targetname iqn.x:t --portal 10.0.2.2:3260 --login"; !strings.Contains(f.Fix, want) {
		t.Errorf("fix %q lacks %q", f.Fix, want)
	}
}

func TestISCSINotProbedIsInfoWithWhatWasRead(t *testing.T) {
	pr := model.ISCSIProbe{Pool: "san", Type: model.PoolISCSIDirect, Call: "virStoragePoolRefresh(san)",
		Answer: "operation forbidden: read only access prevents virStoragePoolRefresh", NotProbed: "the read-only connection refuses a refresh"}
	fs := ISCSISessions(sanHost(), []model.ISCSIProbe{pr})
	if len(fs) != 1 || fs[0].Severity != model.SeverityInfo || fs[0].Check != "pool.iscsi-unprobed" {
		t.Fatalf("want one info pool.iscsi-unprobed, got\n%s", checks(fs))
	}
	if ev := fs[0].Evidence; !strings.Contains(ev, "read only access prevents") || !strings.Contains(ev, "1 volumes as of its last refresh") {
		t.Errorf("evidence: %s", ev)
	}
	if !strings.Contains(fs[0].Fix, "without --readonly") {
		t.Errorf("fix: %s", fs[0].Fix)
	}
}

func TestMissingPV(t *testing.T) {
	probe := model.VGProbe{Call: "virConnectFindStoragePoolSources(logical)", VGs: []model.VolumeGroup{
		{Name: "vgdata", Devices: []string{"/dev/sda", model.MissingPV}},
		{Name: "other", Devices: []string{model.MissingPV}}, // no pool: not judged
	}}
	fs := MissingPVs(sanHost(), probe)
	if len(fs) != 1 || fs[0].Check != "pool.pv-missing" || fs[0].Severity != model.SeverityCritical || fs[0].Object != "pool lvm on "+uri {
		t.Fatalf("want one critical pool.pv-missing on pool lvm, got\n%s", checks(fs))
	}
	f := fs[0]
	for _, want := range []string{"vgdata", "missing 1 of its 2 physical volumes", "VM db lose their disks on the missing PV", "refuses to activate"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message lacks %q: %s", want, f.Message)
		}
	}
	if !strings.Contains(f.Evidence, "VG vgdata on /dev/sda, [unknown]") {
		t.Errorf("evidence: %s", f.Evidence)
	}
	if !strings.Contains(f.Fix, "pvscan --cache && vgchange -ay vgdata") || !strings.Contains(f.Fix, "pool-refresh lvm") {
		t.Errorf("fix: %s", f.Fix)
	}

	probe.VGs[0].Devices = []string{"/dev/sda", "/dev/sdb"}
	if fs := MissingPVs(sanHost(), probe); len(fs) != 0 {
		t.Fatalf("whole VG: want no findings, got\n%s", checks(fs))
	}
}

func TestVGGoneAndNotProbed(t *testing.T) {
	fs := MissingPVs(sanHost(), model.VGProbe{Call: "virConnectFindStoragePoolSources(logical)"})
	if len(fs) != 1 || fs[0].Check != "pool.pv-missing" || !strings.Contains(fs[0].Message, "not on the host any more") {
		t.Fatalf("VG gone: got\n%s", checks(fs))
	}
	fs = MissingPVs(sanHost(), model.VGProbe{Call: "virConnectFindStoragePoolSources(logical)",
		Err: "operation forbidden: read only access prevents virConnectFindStoragePoolSources", NotProbed: "the read-only connection refuses it"})
	if len(fs) != 1 || fs[0].Severity != model.SeverityInfo || fs[0].Check != "pool.pv-unprobed" || !strings.Contains(fs[0].Evidence, "read only access prevents") {
		t.Fatalf("read-only: got\n%s", checks(fs))
	}
	// An inactive logical pool is not judged (its VG may be gone on purpose).
	h := sanHost()
	for i := range h.Pools {
		if h.Pools[i].Name == "lvm" {
			h.Pools[i].Active = false
		}
	}
	if fs := MissingPVs(h, model.VGProbe{}); len(fs) != 0 || NeedsVGProbe(h) {
		t.Fatalf("inactive logical pool: %s", checks(fs))
	}
}

func TestProbedISCSIPools(t *testing.T) {
	var names []string
	for _, p := range ProbedISCSIPools(sanHost()) {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "san,kern" {
		t.Fatalf("probed pools: %v", names)
	}
}

func TestKernelISCSIUsersAreThisTargetsOnly(t *testing.T) {
	h := sanHost()
	h.Domains = append(h.Domains, model.Domain{Name: "elsewhere", Disks: []model.Disk{
		{Target: "vda", Device: "disk", SourceType: "block", Source: "/dev/disk/by-path/ip-10.0.2.2:3260-iscsi-iqn.x:other-lun-1"}}})
	pr := model.ISCSIProbe{Pool: "kern", Type: model.PoolISCSI, Portal: "10.0.2.2:3260", Target: "iqn.x:t", Lost: true, GoneLUNs: []string{"unit:0:0:1"}}
	f := ISCSISessions(h, []model.ISCSIProbe{pr})[0]
	if f.Concerns("elsewhere") || strings.Contains(f.Message, "elsewhere") || !f.Concerns("db") {
		t.Fatalf("a disk on another target counted as a user: %s %v", f.Message, f.Related)
	}
}
