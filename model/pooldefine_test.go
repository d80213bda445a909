package model

import (
	"strings"
	"testing"
)

func TestValidateDefineRefusesWithReasons(t *testing.T) {
	cases := []struct {
		name  string
		s     PoolSpec
		field string
		want  string
	}{
		{"unknown type", PoolSpec{Type: "zfs", Name: "p"}, "type", "stowage defines dir, fs"},
		{"bad name", PoolSpec{Type: "dir", Name: "a b", Path: "/x"}, "name", "not allowed"},
		{"name taken", PoolSpec{Type: "dir", Name: "taken", Path: "/x"}, "name", `pool "taken" exists`},
		{"dir relative", PoolSpec{Type: "dir", Name: "p", Path: "var/x"}, "target", "give an absolute path, e.g. /var/x"},
		{"dir unclean", PoolSpec{Type: "dir", Name: "p", Path: "/var/../x"}, "target", `write "/x"`},
		{"dir root", PoolSpec{Type: "dir", Name: "p", Path: "/"}, "target", "root directory"},
		{"dir missing", PoolSpec{Type: "dir", Name: "p"}, "target", "need --target"},
		{"netfs no host", PoolSpec{Type: "netfs", Name: "p", Path: "/m", SourcePath: "/e"}, "source-host", "the NFS server"},
		{"netfs bad host", PoolSpec{Type: "netfs", Name: "p", Path: "/m", SourceHost: "nas_1", SourcePath: "/e"}, "source-host", "not allowed in a host name"},
		{"netfs relative export", PoolSpec{Type: "netfs", Name: "p", Path: "/m", SourceHost: "nas", SourcePath: "e"}, "source-path", "absolute"},
		{"netfs cifs", PoolSpec{Type: "netfs", Name: "p", Path: "/m", SourceHost: "nas", SourcePath: "/e", Format: "cifs"}, "format", "use one of nfs, auto"},
		{"fs not /dev", PoolSpec{Type: "fs", Name: "p", Path: "/m", Devices: []string{"/var/tmp/x.img"}}, "source-dev", "losetup"},
		{"fs two devices", PoolSpec{Type: "fs", Name: "p", Path: "/m", Devices: []string{"/dev/a", "/dev/b"}}, "source-dev", "one --source-dev"},
		{"fs build auto", PoolSpec{Type: "fs", Name: "p", Path: "/m", Devices: []string{"/dev/a"}, Format: "auto", Build: true}, "format", "cannot be built"},
		{"logical bad vg", PoolSpec{Type: "logical", Name: "p", VG: "my snapshot"}, "source-name", "not allowed"},
		{"logical reserved vg", PoolSpec{Type: "logical", Name: "p", VG: "vg_tmeta"}, "source-name", "reserves"},
		{"logical dup dev", PoolSpec{Type: "logical", Name: "p", VG: "vg", Devices: []string{"/dev/a", "/dev/a"}}, "source-dev", "given twice"},
		{"logical build without devs", PoolSpec{Type: "logical", Name: "p", VG: "vg", Build: true}, "build", "--source-dev"},
		{"disk label", PoolSpec{Type: "disk", Name: "p", Devices: []string{"/dev/sdb"}, Format: "msdos"}, "format", "gpt, dos"},
		{"disk overwrite without build", PoolSpec{Type: "disk", Name: "p", Devices: []string{"/dev/sdb"}, Overwrite: true}, "build", "goes with --build"},
		{"rbd no monitor", PoolSpec{Type: "rbd", Name: "p", CephPool: "rbd", CephUser: "libvirt"}, "monitor", "6789"},
		{"rbd bad port", PoolSpec{Type: "rbd", Name: "p", Monitors: []string{"10.0.0.1:99999"}, CephPool: "rbd", CephUser: "libvirt"}, "monitor", "1 to 65535"},
		{"rbd client prefix", PoolSpec{Type: "rbd", Name: "p", Monitors: []string{"m"}, CephPool: "rbd", CephUser: "client.libvirt"}, "ceph-user", `"libvirt"`},
		{"rbd secret uuid", PoolSpec{Type: "rbd", Name: "p", Monitors: []string{"m"}, CephPool: "rbd", CephUser: "u", CephSecretUUID: "nope"}, "ceph-secret", "8-4-4-4-12"},
		{"rbd build", PoolSpec{Type: "rbd", Name: "p", Monitors: []string{"m"}, CephPool: "rbd", CephUser: "u", Build: true}, "build", "nothing to build"},
		{"iscsi upper iqn", PoolSpec{Type: "iscsi", Name: "p", Portal: "h", IQN: "iqn.2026-11.org.x:SAN"}, "iqn", "lower case"},
		{"iscsi bad portal", PoolSpec{Type: "iscsi", Name: "p", Portal: "h:0", IQN: "iqn.2026-11.org.x:san"}, "portal", "1 to 65535"},
		{"iscsi-direct no initiator", PoolSpec{Type: "iscsi-direct", Name: "p", Portal: "h", IQN: "iqn.2026-11.org.x:san"}, "initiator", "need --initiator"},
		{"iscsi chap space", PoolSpec{Type: "iscsi", Name: "p", Portal: "h", IQN: "iqn.2026-11.org.x:san", CHAPUser: "a b"}, "chap-user", "white space"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateDefine(c.s, []string{"taken"})
			if err == nil {
				t.Fatalf("accepted %+v", c.s)
			}
			var found bool
			for _, fe := range FieldErrors(err) {
				if fe.Field == c.field && strings.Contains(fe.Error(), c.want) {
					found = true
				}
			}
			if !found {
				t.Fatalf("want field %s saying %q, got: %v", c.field, c.want, err)
			}
		})
	}
}

func TestValidateDefineAccepts(t *testing.T) {
	for _, s := range []PoolSpec{
		{Type: "dir", Name: "d", Path: "/var/lib/libvirt/images"},
		{Type: "fs", Name: "f", Path: "/srv/f", Devices: []string{"/dev/loop0"}, Format: "ext4", Build: true},
		{Type: "netfs", Name: "n", Path: "/srv/n", SourceHost: "10.0.0.2", SourcePath: "/exports/vms"},
		{Type: "logical", Name: "l", VG: "vg0"},
		{Type: "logical", Name: "l", VG: "vg0", Devices: []string{"/dev/sdb", "/dev/sdc"}, Overwrite: true},
		{Type: "disk", Name: "k", Devices: []string{"/dev/sdb"}, Format: "gpt", Build: true},
		{Type: "rbd", Name: "r", Monitors: []string{"127.0.0.1:6789", "mon2"}, CephPool: "stowage", CephUser: "libvirt"},
		{Type: "iscsi", Name: "i", Portal: "[::1]:3260", IQN: "iqn.2026-11.lab.stowage:san1"},
		{Type: "iscsi-direct", Name: "i", Portal: "127.0.0.1", IQN: "iqn.2026-11.lab.stowage:san1", Initiator: "iqn.2026-11.lab.stowage:i", CHAPUser: "u"},
	} {
		if err := ValidateDefine(s, []string{"other"}); err != nil {
			t.Errorf("%s refused: %v", s.Type, err)
		}
	}
}

func TestDefinePlanAndBuildModes(t *testing.T) {
	ids := func(s PoolSpec) string {
		var out []string
		for _, st := range DefinePlan(s) {
			out = append(out, string(st.ID))
		}
		return strings.Join(out, ",")
	}
	cases := []struct {
		s    PoolSpec
		mode BuildMode
		plan string
	}{
		{PoolSpec{Type: "dir", Name: "d", Path: "/x"}, BuildMkdir, "define-pool,build-pool,start-pool"},
		{PoolSpec{Type: "logical", VG: "vg"}, BuildNone, "define-pool,start-pool"},
		{PoolSpec{Type: "logical", VG: "vg", Devices: []string{"/dev/a"}}, BuildNoOverwrite, "define-pool,build-pool,start-pool"},
		{PoolSpec{Type: "disk", Devices: []string{"/dev/a"}, NoStart: true}, BuildNone, "define-pool"},
		{PoolSpec{Type: "disk", Devices: []string{"/dev/a"}, Build: true, Overwrite: true}, BuildOverwrite, "define-pool,build-pool,start-pool"},
		{PoolSpec{Type: "rbd", Autostart: true}, BuildNone, "define-pool-secret,define-pool,start-pool,autostart-pool"},
		{PoolSpec{Type: "rbd", CephSecretUUID: "x"}, BuildNone, "define-pool,start-pool"},
		{PoolSpec{Type: "iscsi-direct", CHAPUser: "u"}, BuildNone, "define-pool-secret,define-pool,start-pool"},
	}
	for _, c := range cases {
		if got := c.s.BuildMode(); got != c.mode {
			t.Errorf("%s %+v: build mode %d, want %d", c.s.Type, c.s, got, c.mode)
		}
		if got := ids(c.s); got != c.plan {
			t.Errorf("%s: plan %s, want %s", c.s.Type, got, c.plan)
		}
	}
	over := PoolSpec{Type: "disk", Name: "k", Devices: []string{"/dev/sdb"}, Build: true, Overwrite: true}
	if err := ConfirmOverwrite(over, "nope"); err == nil || !strings.Contains(err.Error(), "--confirm k") {
		t.Errorf("overwrite without the typed name: %v", err)
	}
	if err := ConfirmOverwrite(over, "k"); err != nil {
		t.Errorf("typed name refused: %v", err)
	}
	v := VirshDefine(over, "k.xml")
	if strings.Join(v, ";") != "virsh pool-define k.xml;virsh pool-build k --overwrite;virsh pool-start k" {
		t.Errorf("virsh equivalent: %q", v)
	}
}

func TestIPRulesWithoutNet(t *testing.T) {
	for s, want := range map[string]bool{"10.0.0.1": true, "256.0.0.1": false, "1.2.3": false, "::1": true,
		"fe80::1:2": true, "1:2:3:4:5:6:7:8": true, "1:2:3:4:5:6:7": false, "::ffff:10.0.0.1": true, "1::2::3": false, "g::1": false} {
		if got := isIPv4(s) || isIPv6(s); got != want {
			t.Errorf("%s: ip %v, want %v", s, got, want)
		}
	}
}
