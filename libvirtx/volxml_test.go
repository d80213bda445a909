package libvirtx

import (
	"reflect"
	"testing"

	"stowage/model"
)

// Volume XML as libvirt 9.0 returns it (dir pool file, LUKS with cipher,
// qcow2 with a backing store whose <path> must not win, a block LV in
// other units, an rbd image).
var volumeDocs = []string{
	`<volume type='file'>
  <name>v00001.raw</name>
  <key>/var/tmp/p/v00001.raw</key>
  <capacity unit='bytes'>1048576</capacity>
  <allocation unit='bytes'>0</allocation>
  <physical unit='bytes'>1048576</physical>
  <target>
    <path>/var/tmp/p/v00001.raw</path>
    <format type='raw'/>
    <permissions><mode>0644</mode><owner>0</owner><group>0</group></permissions>
    <timestamps><atime>1700000000.1</atime><mtime>1700000000.1</mtime><ctime>1700000000.1</ctime></timestamps>
  </target>
</volume>`,
	`<volume type='file'>
  <name>vault.luks</name>
  <key>/var/lib/libvirt/images/vault.luks</key>
  <capacity unit='bytes'>10737418240</capacity>
  <allocation unit='bytes'>16777216</allocation>
  <target>
    <path>/var/lib/libvirt/images/vault.luks</path>
    <format type='raw'/>
    <encryption format='luks'>
      <secret type='passphrase' uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'/>
      <cipher name='aes' size='256' mode='xts' hash='sha256'/>
      <ivgen name='plain64' hash='sha256'/>
    </encryption>
  </target>
</volume>`,
	`<volume type='file'>
  <name>web1.qcow2</name>
  <key>/img/web1.qcow2</key>
  <capacity unit='G'>20</capacity>
  <allocation unit='KiB'>4096</allocation>
  <target>
    <path>/img/web1.qcow2</path>
    <format type='qcow2'/>
    <compat>1.1</compat>
    <features><lazy_refcounts/></features>
  </target>
  <backingStore>
    <path>/img/base.qcow2</path>
    <format type='qcow2'/>
  </backingStore>
</volume>`,
	`<volume type='block'><name>db-data</name><key>abc-def</key><source><device path='/dev/sdb'><extent start='0' end='53687091200'/></device></source><capacity>53687091200</capacity><allocation unit='MiB'>51200</allocation><target><path>/dev/vg0/db-data</path></target></volume>`,
	`<volume type='network'>
  <name>img1</name>
  <key>stowage/img1</key>
  <capacity unit='bytes'>1073741824</capacity>
  <allocation unit='bytes'>0</allocation>
  <target><path>stowage/img1</path><format type='raw'/></target>
</volume>`,
	// Not the plain shape: the encoding/xml walk reads these.
	`<?xml version="1.0"?>
<!-- a comment -->
<volume type="file"><name>a&amp;b &lt;1&gt;</name><key>/p/a&amp;b</key>
  <capacity unit="KiB">8</capacity><target><path>/p/a&amp;b</path><format type="raw"/></target></volume>`,
}

// What VolumeFromXML must read from each of volumeDocs.
var volumeWant = []model.Volume{
	{Name: "v00001.raw", Pool: "p", Key: "/var/tmp/p/v00001.raw", Type: "file", Path: "/var/tmp/p/v00001.raw", Format: "raw", Capacity: 1 << 20},
	{Name: "vault.luks", Pool: "p", Key: "/var/lib/libvirt/images/vault.luks", Type: "file", Path: "/var/lib/libvirt/images/vault.luks",
		Format: "raw", Capacity: 10 << 30, Allocation: 16 << 20,
		Encryption: &model.Encryption{Format: "luks", Engine: "qemu", SecretUUID: "0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f", Cipher: "aes-256-xts"}},
	// The backing store's <path> must not win over the target's.
	{Name: "web1.qcow2", Pool: "p", Key: "/img/web1.qcow2", Type: "file", Path: "/img/web1.qcow2", Format: "qcow2", Capacity: 20 << 30, Allocation: 4 << 20},
	{Name: "db-data", Pool: "p", Key: "abc-def", Type: "block", Path: "/dev/vg0/db-data", Capacity: 50 << 30, Allocation: 50 << 30},
	{Name: "img1", Pool: "p", Key: "stowage/img1", Type: "network", Path: "stowage/img1", Format: "raw", Capacity: 1 << 30},
	{Name: "a&b <1>", Pool: "p", Key: "/p/a&b", Type: "file", Path: "/p/a&b", Format: "raw", Capacity: 8 << 10},
}

func TestVolumeFromXML(t *testing.T) {
	for i, doc := range volumeDocs {
		got, err := VolumeFromXML("p", doc)
		if err != nil {
			t.Fatalf("doc %d: %v", i, err)
		}
		if want := volumeWant[i]; !reflect.DeepEqual(got, want) {
			t.Errorf("doc %d:\n got %+v %+v\nwant %+v %+v", i, got, got.Encryption, want, want.Encryption)
		}
	}
	for _, bad := range []string{"", "<pool/>", "<volume><capacity>x</capacity></volume>", "<volume><name>a</volume>",
		"<volume><capacity unit='parsec'>1</capacity></volume>", "<volume><name>a</name>",
		"<volume><name x=1>a</name></volume>"} {
		if _, err := VolumeFromXML("p", bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func BenchmarkVolumeFromXML(b *testing.B) {
	for b.Loop() {
		if _, err := VolumeFromXML("p", volumeDocs[0]); err != nil {
			b.Fatal(err)
		}
	}
}
