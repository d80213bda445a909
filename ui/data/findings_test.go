package data

import (
	"fmt"
	"testing"

	"stowage/doctor"
	"stowage/model"
)

// The findings are worked out when a refresh completes, not part by part
// (a host half read is not diagnosed), and a stale refresh's end neither
// counts as a read nor diagnoses.
func TestFindingsWhenARefreshCompletes(t *testing.T) {
	s := NewStore(oneHost{pools: []model.Pool{{Name: "p", Type: model.PoolDir, Persistent: true, Autostart: true}}}, 0)
	part := s.Refresh(0, false)().(PartMsg)
	s.Update(part)
	// The VM that names the inactive pool, as a later part brings it.
	s.Hosts[0].Info.Apply(model.Part{Kind: model.PartDomains, Domains: []model.Domain{{Name: "vm",
		Disks: []model.Disk{{Target: "vda", Device: "disk", SourceType: "volume", Pool: "p", Volume: "a"}}}}})
	if len(s.Hosts[0].Findings) != 0 || s.Hosts[0].Reads != 0 {
		t.Fatalf("findings %v (reads %d) before the refresh completed", s.Hosts[0].Findings, s.Hosts[0].Reads)
	}
	if changed, _ := s.Update(DoneMsg{Route: part.Route, Host: 0}); !changed {
		t.Fatal("the refresh's end was dropped")
	}
	h := s.Hosts[0]
	if h.Reads != 1 || len(h.Findings) != 1 || h.Findings[0].Check != "pool.inactive-in-use" {
		t.Fatalf("after the refresh: reads %d, findings %+v", h.Reads, h.Findings)
	}
	if open, crit := s.OpenFindings(nil); open != 1 || crit != 1 {
		t.Errorf("OpenFindings = %d, %d; want 1, 1", open, crit)
	}
	s.Refresh(0, false) // the first refresh is stale from here on
	s.Hosts[0].Info.Domains = nil
	if changed, _ := s.Update(DoneMsg{Route: part.Route, Host: 0}); changed || s.Hosts[0].Reads != 1 || len(s.Hosts[0].Findings) != 1 {
		t.Errorf("a stale end: changed %v, reads %d, findings %d (want dropped, 1, 1)", changed, s.Hosts[0].Reads, len(s.Hosts[0].Findings))
	}
}

// manyVolumes is one dir pool of n volumes, a tenth of them disks of VMs
// (ten disks each), and a secret for each volume.
func manyVolumes(n int) model.HostInfo {
	h := model.HostInfo{URI: "qemu:///system", SecretsKnown: true}
	p := model.PoolInfo{Pool: model.Pool{Name: "big", Type: model.PoolDir, Active: true, Persistent: true, Autostart: true,
		TargetPath: "/big", Capacity: 1 << 50, Available: 1 << 49}, VolumesLoaded: true}
	var vm model.Domain
	for i := range n {
		v := model.Volume{Name: fmt.Sprintf("v%05d", i), Pool: "big", Path: fmt.Sprintf("/big/v%05d", i), Capacity: 1 << 30}
		p.Volumes = append(p.Volumes, model.VolumeInfo{Volume: v, Loaded: true})
		h.Secrets = append(h.Secrets, model.SecretInfo{Secret: model.Secret{UUID: fmt.Sprintf("%036d", i), UsageID: v.Path}})
		if i%10 == 0 {
			if len(vm.Disks) == 10 {
				h.Domains = append(h.Domains, vm)
				vm = model.Domain{}
			}
			vm.Name = fmt.Sprintf("vm%05d", i)
			vm.Disks = append(vm.Disks, model.Disk{Target: fmt.Sprintf("vd%d", len(vm.Disks)), Device: "disk", SourceType: "file", Source: v.Path})
		}
	}
	h.Domains = append(h.Domains, vm)
	h.Pools = []model.PoolInfo{p}
	return h
}

// The store runs the checks once per completed refresh, on the Update
// goroutine: with 10,000 volumes that must cost far less than the refresh
// itself (go-libvirt reads those volumes in about 0.7 s).
func BenchmarkFindings10000Volumes(b *testing.B) {
	h := manyVolumes(10000)
	b.ReportAllocs()
	for b.Loop() {
		doctor.Libvirt(h)
	}
}
