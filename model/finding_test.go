package model

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSortFindingsMostSevereFirst(t *testing.T) {
	fs := []Finding{
		{Severity: SeverityInfo, Object: "secret a", Check: "secret.orphan"},
		{Severity: SeverityCritical, Object: "vm web", Check: "secret.missing"},
		{Severity: SeverityWarning, Object: "rbd image stowage/b", Check: "rbd.stale-lock"},
		{Severity: SeverityCritical, Object: "rbd image stowage/a", Check: "rbd.stale-lock"},
	}
	SortFindings(fs)
	var got []string
	for _, f := range fs {
		got = append(got, f.Severity.String()+" "+f.Object)
	}
	want := "critical rbd image stowage/a|critical vm web|warning rbd image stowage/b|info secret a"
	if g := strings.Join(got, "|"); g != want {
		t.Fatalf("order:\n got %s\nwant %s", g, want)
	}
}

func TestSeverityJSONByName(t *testing.T) {
	b, err := json.Marshal(Finding{Severity: SeverityWarning, Object: "pool p"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"severity":"warning"`) {
		t.Fatalf("JSON %s: want the severity by name", b)
	}
	var f Finding
	if err := json.Unmarshal(b, &f); err != nil || f.Severity != SeverityWarning {
		t.Fatalf("round trip: %v, %v", f.Severity, err)
	}
	if err := json.Unmarshal([]byte(`{"severity":"bad"}`), &f); err == nil || !strings.Contains(err.Error(), "info, warning, critical") {
		t.Fatalf("unknown severity: %v, want an error naming the valid ones", err)
	}
}

func TestLinkCephTiesImagesToPoolsAndVMs(t *testing.T) {
	h := HostInfo{
		Pools: []PoolInfo{{Pool: Pool{Name: "vms-rbd", Type: PoolRBD, SourceName: "vms"}}, {Pool: Pool{Name: "images", Type: PoolDir}}},
		Domains: []Domain{
			{Name: "web", Disks: []Disk{{SourceType: "network", Source: "rbd:vms/web-root"}}},
			{Name: "other", Disks: []Disk{{SourceType: "network", Source: "rbd:vms/web-root-old"}}},
		},
	}
	got := LinkCeph(h, []RBDImage{{Pool: "vms", Name: "web-root"}, {Pool: "backups", Name: "x"}})
	if len(got) != 2 || got[0].LibvirtPool != "vms-rbd" || strings.Join(got[0].VMs, ",") != "web" {
		t.Fatalf("web-root: %+v; want pool vms-rbd and VM web only", got[0])
	}
	if got[1].LibvirtPool != "" || len(got[1].VMs) != 0 || got[1].VMs == nil {
		t.Fatalf("an image of a pool no libvirt pool holds: %+v; want no pool, an empty VM list", got[1])
	}
}
