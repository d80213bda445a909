package libvirtx

import (
	"stowage/model"
	"strings"
	"testing"
)

func TestISCSIPoolXMLRoundTrip(t *testing.T) {
	doc, err := ISCSIPoolXML(model.ISCSIPoolSpec{Name: "san", Host: "fd00::1", Port: 3260, Target: "iqn.2026-11.lab.stowage:san2",
		CHAPUser: "u", CHAPUsage: "stowage-chap-san"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`type="iscsi"`, `<path>/dev/disk/by-path</path>`, `<auth type="chap" username="u">`, `<secret usage="stowage-chap-san">`} {
		if !strings.Contains(doc, want) {
			t.Errorf("iscsi pool XML lacks %s:\n%s", want, doc)
		}
	}
	src, err := PoolSourceFromXML(doc)
	if err != nil {
		t.Fatal(err)
	}
	if src.Type != "iscsi" || len(src.Hosts) != 1 || src.Hosts[0] != "[fd00::1]:3260" || src.Devices[0] != "iqn.2026-11.lab.stowage:san2" ||
		src.AuthUser != "u" || src.AuthUsage != "stowage-chap-san" {
		t.Errorf("source: %+v", src)
	}
}

func TestLogicalPoolXML(t *testing.T) {
	doc, err := LogicalPoolXML(model.LogicalPoolSpec{Name: "data", VG: "vgdata", Devices: []string{"/dev/disk/by-path/a", "/dev/disk/by-path/b"},
		UUID: "5a7d0e1c-3b2f-4c55-9e60-57a6e1ab0002"})
	if err != nil {
		t.Fatal(err)
	}
	src, err := PoolSourceFromXML(doc)
	if err != nil {
		t.Fatal(err)
	}
	if src.Name != "vgdata" || len(src.Devices) != 2 || src.UUID != "5a7d0e1c-3b2f-4c55-9e60-57a6e1ab0002" {
		t.Errorf("source: %+v\n%s", src, doc)
	}
	if !strings.Contains(doc, "<path>/dev/vgdata</path>") || !strings.Contains(doc, `<format type="lvm2">`) {
		t.Errorf("logical pool XML:\n%s", doc)
	}
}

func TestLUNNumber(t *testing.T) {
	for name, want := range map[string]int{"unit:0:0:1": 1, "unit:0:0:12": 12} {
		if n, ok := LUNNumber(name); !ok || n != want {
			t.Errorf("LUNNumber(%q) = %d, %v", name, n, ok)
		}
	}
	for _, name := range []string{"disk1", "unit:0:0:x", "vol.img"} {
		if _, ok := LUNNumber(name); ok {
			t.Errorf("LUNNumber(%q) accepted", name)
		}
	}
}
