package model

import (
	"fmt"
	"testing"
)

func parts10k() []Part {
	names := make([]string, 10000)
	vols := make([]Volume, 10000)
	for i := range vols {
		names[i] = fmt.Sprintf("v%05d.raw", i)
		vols[i] = Volume{Name: names[i], Pool: "big", Path: "/big/" + names[i], Key: "/big/" + names[i], Capacity: 1 << 20}
	}
	vols[7].Encryption = &Encryption{Format: "luks", SecretUUID: "s-1"}
	return []Part{
		{Kind: PartVersions, Lib: "9.0.0", HV: "7.2.0"},
		{Kind: PartPools, Pools: []Pool{{Name: "big", Type: PoolDir, Active: true, TargetPath: "/big"}}},
		{Kind: PartVolumeNames, Pool: "big", Names: names},
		{Kind: PartVolumes, Pool: "big", Volumes: vols},
		{Kind: PartDomains, Domains: []Domain{{Name: "vm1", Disks: []Disk{{Target: "vdb", SourceType: "file", Source: "/big/v00003.raw"}}}}},
		{Kind: PartSecrets, Secrets: []SecretInfo{{Secret: Secret{UUID: "s-1", UsageType: "volume", UsageID: "/big/v00007.raw"}, Value: ValueSet}}},
	}
}

// A poll that brings back what the host holds changes nothing, and keeps
// the derived fields; a part that differs changes the host.
func TestApplyReportsOnlyChanges(t *testing.T) {
	var h HostInfo
	for _, p := range parts10k() {
		if !h.Apply(p) {
			t.Fatalf("first %v part: no change reported", p.Kind)
		}
		h.Link()
	}
	vols := h.Pools[0].Volumes
	for _, p := range parts10k() {
		if h.Apply(p) {
			t.Errorf("a repeated %v part reported a change", p.Kind)
		}
	}
	if &h.Pools[0].Volumes[0] != &vols[0] {
		t.Error("a repeated part replaced the volumes")
	}
	if v := h.Pools[0].Volumes[3]; len(v.AttachedTo) != 1 || v.AttachedTo[0].VM != "vm1" {
		t.Errorf("attachments after repeated parts: %+v", v.AttachedTo)
	}
	if v := h.Pools[0].Volumes[7]; v.SecretState != SecretPresent {
		t.Errorf("secret state after repeated parts: %q", v.SecretState)
	}
	ps := parts10k()
	ps[3].Volumes[9999].Allocation = 4096
	if !h.Apply(ps[3]) {
		t.Error("a volume that grew: no change reported")
	}
	ps[2].Names = ps[2].Names[1:]
	if !h.Apply(ps[2]) || len(h.Pools[0].Volumes) != 9999 {
		t.Error("a volume that went: no change reported")
	}
	ps[4].Domains[0].State = "running"
	if !h.Apply(ps[4]) {
		t.Error("a VM that started: no change reported")
	}
	ps[5].Secrets[0].Value = ValueUnset
	if !h.Apply(ps[5]) {
		t.Error("a secret that lost its value: no change reported")
	}
	if !h.Apply(Part{Kind: PartVersions, Err: fmt.Errorf("down")}) {
		t.Error("an error: no change reported")
	}
}

// BenchmarkLink10k is one Link of a host with a pool of 10,000 volumes,
// one VM disk and one volume secret: what the console pays each time a
// part changes the host (B/op: only the volumes looked up are indexed).
func BenchmarkLink10k(b *testing.B) {
	var h HostInfo
	for _, p := range parts10k() {
		h.Apply(p)
	}
	b.ReportAllocs()
	for b.Loop() {
		h.Link()
	}
	if len(h.Pools[0].Volumes[3].AttachedTo) != 1 {
		b.Fatal("the disk is not linked")
	}
}
