package libvirtx

import (
	"strings"
	"testing"

	"stowage/model"
)

func TestPoolSpecXMLEveryType(t *testing.T) {
	cases := []struct {
		s    model.PoolSpec
		want []string
	}{
		{model.PoolSpec{Type: "fs", Name: "f", Path: "/srv/f", Devices: []string{"/dev/loop3"}, Format: "ext4"},
			[]string{`<pool type="fs">`, `<device path="/dev/loop3">`, `<format type="ext4">`, `<path>/srv/f</path>`}},
		{model.PoolSpec{Type: "netfs", Name: "n", Path: "/srv/n", SourceHost: "nas", SourcePath: "/exports/vms"},
			[]string{`<host name="nas">`, `<dir path="/exports/vms">`, `<format type="nfs">`, `<path>/srv/n</path>`}},
		{model.PoolSpec{Type: "logical", Name: "l", VG: "vg0", Devices: []string{"/dev/sdb"}},
			[]string{`<name>vg0</name>`, `<format type="lvm2">`, `<device path="/dev/sdb">`, `<path>/dev/vg0</path>`}},
		{model.PoolSpec{Type: "disk", Name: "k", Devices: []string{"/dev/sdc"}, Format: "gpt"},
			[]string{`<device path="/dev/sdc">`, `<format type="gpt">`, `<path>/dev</path>`}},
		{model.PoolSpec{Type: "iscsi", Name: "i", Portal: "10.0.0.5", IQN: "iqn.2026-11.org.x:san", CHAPUser: "u", CHAPUsage: "stowage-chap-i"},
			[]string{`<host name="10.0.0.5" port="3260">`, `<device path="iqn.2026-11.org.x:san">`, `<auth type="chap" username="u">`, `<secret usage="stowage-chap-i">`, `/dev/disk/by-path`}},
		{model.PoolSpec{Type: "iscsi-direct", Name: "d", Portal: "127.0.0.1:3261", IQN: "iqn.2026-11.org.x:san", Initiator: "iqn.2026-11.org.x:me"},
			[]string{`<pool type="iscsi-direct">`, `port="3261"`, `<iqn name="iqn.2026-11.org.x:me">`}},
		{model.PoolSpec{Type: "rbd", Name: "r", Monitors: []string{"127.0.0.1:6789"}, CephPool: "stowage", CephUser: "libvirt", CephSecretUUID: "5a7d0e1c-3b2f-4c55-9e60-57a6e1ab0001"},
			[]string{`<name>stowage</name>`, `<secret uuid="5a7d0e1c-3b2f-4c55-9e60-57a6e1ab0001">`}},
	}
	for _, c := range cases {
		doc, err := PoolSpecXML(c.s, "11111111-1111-1111-1111-111111111111")
		if err != nil {
			t.Fatalf("%s: %v", c.s.Type, err)
		}
		for _, w := range c.want {
			if !strings.Contains(doc, w) {
				t.Errorf("%s XML lacks %s:\n%s", c.s.Type, w, doc)
			}
		}
	}
	if _, err := PoolSpecXML(model.PoolSpec{Type: "iscsi", Name: "i", Portal: "h", IQN: "iqn.2026-11.org.x:s", CHAPUser: "u"}, ""); err == nil {
		t.Error("CHAP without a secret usage rendered")
	}
}

func TestBlockDeviceFromXML(t *testing.T) {
	doc := `<device><name>block_sdb</name><capability type='storage'><block>/dev/sdb</block><bus>scsi</bus>
<drive_type>disk</drive_type><model>VIRTUAL-DISK</model><vendor>IET</vendor><serial>beaf11</serial><size>67108864</size></capability></device>`
	d, ok, err := BlockDeviceFromXML(doc)
	if err != nil || !ok || d.Path != "/dev/sdb" || d.Size != 67108864 || d.Model != "VIRTUAL-DISK" {
		t.Fatalf("got %+v %v %v", d, ok, err)
	}
	if _, ok, _ := BlockDeviceFromXML(`<device><name>net_x</name><capability type='net'><interface>eth0</interface></capability></device>`); ok {
		t.Error("a net device read as a block device")
	}
}
