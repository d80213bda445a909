package ceph

import (
	"bytes"
	"strings"
	"testing"

	"stowage/model"
)

// Answers captured from the lab's Ceph 16 (the key in `auth get` replaced).
const (
	healthWarnJSON = `{"status":"HEALTH_WARN","checks":{"OSDMAP_FLAGS":{"severity":"HEALTH_WARN","summary":{"message":"noout flag(s) set","count":5},"detail":[],"muted":false},"OSD_NEARFULL":{"severity":"HEALTH_WARN","summary":{"message":"1 nearfull osd(s)","count":1},"detail":[{"message":"osd.0 is near full"}],"muted":false},"POOL_FULL":{"severity":"HEALTH_ERR","summary":{"message":"1 pool(s) full"},"detail":[],"muted":true}},"mutes":[]}`
	dfJSON         = `{"stats":{"total_bytes":4294967296,"total_avail_bytes":4294672194,"total_used_bytes":295102,"total_used_raw_bytes":295102,"total_used_raw_ratio":6.87e-05,"num_osds":1},"pools":[{"name":"device_health_metrics","id":1,"stats":{"stored":0,"objects":0,"kb_used":0,"bytes_used":0,"percent_used":0,"max_avail":4079922944}},{"name":"stowage","id":2,"stats":{"stored":260170,"objects":6,"kb_used":255,"bytes_used":260170,"percent_used":6.3764295191504061e-05,"max_avail":4079922944}}]}`
	osdDumpJSON    = `{"epoch":19,"fsid":"9962f81b-47f0-4e40-8729-5940305d73f7","full_ratio":0.949999988079071,"backfillfull_ratio":0.8999999761581421,"nearfull_ratio":0.8500000238418579,"pools":[{"pool":1,"pool_name":"device_health_metrics","quota_max_bytes":0,"quota_max_objects":0,"application_metadata":{"mgr_devicehealth":{}}},{"pool":2,"pool_name":"stowage","quota_max_bytes":1048576,"quota_max_objects":0,"application_metadata":{"rbd":{}}}]}`
	blocklistJSON  = `[{"addr":"192.0.2.7:0/1234","until":"2026-11-29T03:26:26.994454+0000"}][]` // sic: Ceph 16 prints it twice
	authGetJSON    = `[{"entity":"client.libvirt","key":"QVFCdGhpc2lzbm90YXJlYWxrZXk=","caps":{"mgr":"profile rbd pool=stowage","mon":"profile rbd","osd":"profile rbd pool=stowage"}}]`
)

func TestParseHealth(t *testing.T) {
	h, err := parseHealth([]byte(healthWarnJSON))
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != "HEALTH_WARN" || len(h.Checks) != 3 {
		t.Fatalf("health = %+v; want HEALTH_WARN with 3 checks", h)
	}
	// Sorted by code, so that two runs print the same.
	if h.Checks[0].Code != "OSDMAP_FLAGS" || h.Checks[1].Code != "OSD_NEARFULL" || h.Checks[1].Detail[0] != "osd.0 is near full" || !h.Checks[2].Muted {
		t.Errorf("checks = %+v", h.Checks)
	}
	for _, bad := range []string{"", "{", `{"checks":{}}`} {
		if _, err := parseHealth([]byte(bad)); err == nil || !strings.Contains(err.Error(), "health detail") {
			t.Errorf("parseHealth(%q) = %v; want an error naming health detail", bad, err)
		}
	}
}

func TestParseDFAndOSDDump(t *testing.T) {
	var c model.CephCluster
	if err := parseDF([]byte(dfJSON), &c); err != nil {
		t.Fatal(err)
	}
	if err := parseOSDDump([]byte(osdDumpJSON), &c); err != nil {
		t.Fatal(err)
	}
	if c.TotalBytes != 4294967296 || c.UsedBytes != 295102 || c.FSID != "9962f81b-47f0-4e40-8729-5940305d73f7" {
		t.Errorf("cluster = %+v", c)
	}
	if c.NearfullRatio < 0.84 || c.NearfullRatio > 0.86 || c.FullRatio < 0.94 || c.FullRatio > 0.96 {
		t.Errorf("ratios %v %v", c.NearfullRatio, c.FullRatio)
	}
	p := c.Pools[1]
	if p.Name != "stowage" || p.StoredBytes != 260170 || p.MaxAvailBytes != 4079922944 || p.Objects != 6 ||
		p.QuotaMaxBytes != 1<<20 || len(p.Applications) != 1 || p.Applications[0] != "rbd" {
		t.Errorf("pool = %+v", p)
	}
	if err := parseDF([]byte("nope"), &c); err == nil || !strings.HasPrefix(err.Error(), "df:") {
		t.Errorf("parseDF(garbage) = %v", err)
	}
	if err := parseOSDDump([]byte("nope"), &c); err == nil || !strings.HasPrefix(err.Error(), "osd dump:") {
		t.Errorf("parseOSDDump(garbage) = %v", err)
	}
}

func TestParseBlocklist(t *testing.T) {
	bl, err := parseBlocklist([]byte(blocklistJSON))
	if err != nil || len(bl) != 1 || bl[0].Address != "192.0.2.7:0/1234" || bl[0].Host != "192.0.2.7" || !strings.HasPrefix(bl[0].Until, "2026-11-29") {
		t.Errorf("blocklist = %+v, %v", bl, err)
	}
	if bl, err := parseBlocklist([]byte("[][]")); err != nil || len(bl) != 0 {
		t.Errorf("empty blocklist = %+v, %v", bl, err)
	}
}

// The answer to `auth get` holds the key: it must reach nothing stowage
// keeps or prints.
func TestParseAuthCapsDropsTheKey(t *testing.T) {
	caps, err := parseAuthCaps([]byte(authGetJSON))
	if err != nil {
		t.Fatal(err)
	}
	want := model.CephUserCaps{Entity: "client.libvirt", Mon: "profile rbd", OSD: "profile rbd pool=stowage", MGR: "profile rbd pool=stowage"}
	if caps != want {
		t.Errorf("caps = %+v; want %+v", caps, want)
	}
	_, err = parseAuthCaps([]byte(`[{"entity":"client.x","key":"QVFCdGhpc2lzbm90YXJlYWxrZXk=","caps":{"mon":1}}]`))
	if err == nil || strings.Contains(err.Error(), "QVFC") {
		t.Errorf("bad caps: %v; want an error without the key", err)
	}
}

func TestAddrHost(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:0/3295272755":               "127.0.0.1",
		"v2:10.0.0.5:0/42":                     "10.0.0.5",
		"[::1]:0/7":                            "::1",
		"[v2:10.0.0.5:0/1,v1:10.0.0.5:6789/1]": "10.0.0.5",
		"garbage":                              "garbage",
	} {
		if got := AddrHost(in); got != want {
			t.Errorf("AddrHost(%q) = %q; want %q", in, got, want)
		}
	}
	if !sameClientAddr("127.0.0.1:0/5", "v1:127.0.0.1:0/5") || sameClientAddr("127.0.0.1:0/5", "127.0.0.1:0/6") ||
		sameClientAddr("127.0.0.1:0/5", "127.0.0.2:0/5") {
		t.Error("sameClientAddr tells clients apart by IP, port and nonce, not by the v1/v2 prefix")
	}
}

func TestEncryption(t *testing.T) {
	luks := func(v byte) []byte { return append([]byte("LUKS\xba\xbe\x00"), v, 0, 0) }
	for _, c := range []struct {
		head []byte
		want string
	}{
		{luks(1), "luks1"},
		{luks(2), "luks2"},
		{luks(3), "luks version 3"},
		{bytes.Repeat([]byte{0}, 8), "none"},
		{[]byte("LUKS\xba\xbe"), "none"}, // too short to hold a version
		{nil, "none"},
		{append([]byte{0xeb, 0x63, 0x90}, make([]byte, 5)...), "none"}, // a boot sector
	} {
		if got := Encryption(c.head); got != c.want {
			t.Errorf("Encryption(% x) = %q; want %q", c.head, got, c.want)
		}
	}
}
