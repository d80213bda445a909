package cli

import (
	"bytes"
	"testing"

	"stowage/model"
)

// inventoryFixture is one host with what the tables must word alike in
// the CLI and the console: an inactive pool of a type that creates drives,
// a pool that cannot, a volume whose name carries control characters and
// whose secret is gone, a VM with an empty cdrom, a VM without disks and an
// orphaned secret.
func inventoryFixture() model.HostInfo {
	enc := &model.Encryption{Format: "luks", SecretUUID: "s-1"}
	return model.HostInfo{
		URI: "qemu:///system", LibvirtVersion: "9.0.0", HypervisorVersion: "7.2.0",
		Pools: []model.PoolInfo{
			{Pool: model.Pool{Name: "cold", Type: model.PoolDir, Persistent: true}, CanCreateVolumes: true},
			{Pool: model.Pool{Name: "images", Type: model.PoolDir, Active: true, Persistent: true, Autostart: true,
				Capacity: 100 << 30, Allocation: 1 << 30, Available: 99 << 30}, CanCreateVolumes: true,
				Volumes: []model.VolumeInfo{
					{Volume: model.Volume{Name: "plain.raw", Pool: "images", Format: "raw", Capacity: 1 << 30, Allocation: 1 << 20},
						AttachedTo: []model.Attachment{{VM: "web1", Target: "vda"}}, Loaded: true},
					{Volume: model.Volume{Name: "v\u009b2J\x7f", Pool: "images", Format: "raw", Capacity: 1 << 20, Encryption: enc},
						SecretState: model.SecretMissing, AttachedTo: []model.Attachment{{VM: "web1", Target: "vdb"}}, Loaded: true},
				}},
			{Pool: model.Pool{Name: "san", Type: model.PoolISCSIDirect, Active: true}, CreateReason: "iSCSI pools only expose LUNs"},
		},
		Domains: []model.Domain{
			{Name: "db1", State: "shut off"},
			{Name: "web1", State: "running", Disks: []model.Disk{
				{Target: "vda", Bus: "virtio", Source: "/images/plain.raw"},
				{Target: "vdb", Bus: "virtio", Source: "/images/v\u009b2J\x7f", Encryption: enc},
				{Target: "hdc", Bus: "sata"},
			}},
		},
		Secrets: []model.SecretInfo{
			{Secret: model.Secret{UUID: "s-2", UsageType: "ceph"}, Value: model.ValueSet, Orphan: "its pool is gone"},
		},
		SecretsKnown: true,
	}
}

// The tables in render's words: an inactive pool can create drives "yes,
// once started" (the CLI said "yes" while the console said this), secret
// states as the console words them, an empty source as "-", and names
// escaped; sizes stay bytes.
func TestInventoryTables(t *testing.T) {
	var b bytes.Buffer
	printHost(&b, inventoryFixture())
	want := `HOST qemu:///system  libvirt 9.0.0, hypervisor 7.2.0

POOL    TYPE          STATE     AUTOSTART  PERSISTENT  CAPACITY      ALLOCATION  AVAILABLE     CAN CREATE DRIVES
cold    dir           inactive  no         yes         0             0           0             yes, once started
images  dir           active    yes        yes         107374182400  1073741824  106300440576  yes
san     iscsi-direct  active    no         no          0             0           0             no: iSCSI pools only expose LUNs

VOLUME         POOL    CAPACITY    ALLOCATION  FORMAT  ENCRYPTION   SECRET   ATTACHED TO
plain.raw      images  1073741824  1048576     raw     -            -        web1:vda
v\u009b2J\x7f  images  1048576     0           raw     luks (qemu)  MISSING  web1:vdb

VM    STATE     DISK  BUS     SOURCE                 ENCRYPTION
db1   shut off  -     -       -                      -
web1  running   vda   virtio  /images/plain.raw      -
web1  running   vdb   virtio  /images/v\u009b2J\x7f  luks (qemu)
web1  running   hdc   sata    -                      -

SECRET     USAGE                                     PRIVATE  EPHEMERAL  VALUE  ORPHAN
s-2        ceph                                      no       no         set    its pool is gone
(missing)  volume images/v\u009b2J\x7f (secret s-1)  -        -          -      encrypted volume's secret is gone

`
	if got := b.String(); got != want {
		t.Errorf("inventory tables:\n%s\nwant:\n%s", got, want)
	}
}
