package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"

	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
)

func size(t *testing.T, v uint64, unit string) uint64 {
	n, err := model.ScaleUnit(v, unit)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLabInventoryMatchesVirsh compares `stowage inventory --json` with
// virsh in both directions: every pool (type, UUID, state, persistence,
// autostart, capacity, target, source), volume (type, path, format,
// capacity, encryption), VM (UUID, state, persistence), VM disk (device,
// bus, source, encryption), secret (usage, private, ephemeral) and
// attachment virsh shows is in the inventory with the same attributes, and
// everything the inventory lists is in virsh's output.
//
// So that no kind is compared vacuously the test makes objects of its own:
// a raw, a qcow2 and a LUKS volume in the dir pool, an image in the rbd
// pool, an orphaned secret, and a shut-off VM whose four disks use them (a
// file; a LUKS file, QEMU-layer; a pool volume; an rbd image with librbd
// LUKS2, whose volume then shows the disk's encryption). A shut-off VM
// leaves the running lab VM alone: its disks are compared as they are.
//
// Other tests share the lab, so virsh reads the whole host just before and
// just after the inventory, and churnCheck (virshview_lab_test.go) says
// how objects that came or went meanwhile are judged. A pool too large for
// virsh to list (libvirt's list limit) is compared as a pool, not volume
// by volume.
func TestLabInventoryMatchesVirsh(t *testing.T) {
	env := lab.Need(t)
	ctx := context.Background()
	c, err := libvirtx.Dial(ctx, env.URI, libvirtx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	prefix := fmt.Sprintf("t-browse-%d", time.Now().UnixNano())

	// Secrets whose values are random and never printed. qemu-img wants a
	// passphrase as UTF-8 text: hex of random bytes.
	newPass := func() []byte {
		raw := make([]byte, 24)
		if _, err := rand.Read(raw); err != nil {
			t.Fatal(err)
		}
		defer clear(raw)
		return []byte(hex.EncodeToString(raw))
	}
	volPath := func(pool, name string) string {
		return strings.TrimSpace(mustVirsh(t, env.URI, "vol-path", "--pool", pool, name))
	}
	makeVol := func(pool, name string, args ...string) string {
		mustVirsh(t, env.URI, append([]string{"vol-create-as", pool, name}, args...)...)
		t.Cleanup(func() { _, _ = virsh(t, env.URI, "vol-delete", "--pool", pool, name) })
		return volPath(pool, name)
	}

	// The dir pool: raw, qcow2, and LUKS with a private volume secret.
	rawName, qName, encName := prefix+"-raw.img", prefix+"-q.qcow2", prefix+"-luks.img"
	rawPath := makeVol(env.DirPool, rawName, "4M", "--format", "raw")
	makeVol(env.DirPool, qName, "4M", "--format", "qcow2")
	dirPool, ok := readVirshPool(t, env.URI, env.DirPool)
	if !ok {
		t.Fatalf("lab pool %s is gone", env.DirPool)
	}
	encPath := filepath.Join(dirPool.TargetPath, encName)
	pass := newPass()
	encSecret, err := c.DefineSecret(ctx, libvirtx.SecretSpec{UsageType: "volume", UsageID: encPath, Description: "stowage test " + prefix}, pass)
	clear(pass)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.UndefineSecret(context.Background(), encSecret) })
	if _, err := c.CreateVolume(ctx, env.DirPool, model.VolumeSpec{Name: encName, Capacity: 8 << 20, Format: "raw",
		Encryption: &model.Encryption{Format: "luks", SecretUUID: encSecret}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteVolume(context.Background(), env.DirPool, encName) })

	// The rbd pool: a plain image, which a VM disk decrypts with librbd.
	rbdName := prefix + "-rbd"
	makeVol(env.RBDPool, rbdName, "8M")
	pass = newPass()
	rbdSecret, err := c.DefineSecret(ctx, libvirtx.SecretSpec{UsageType: "volume", UsageID: env.CephPool + "/" + rbdName, Description: "stowage test " + prefix}, pass)
	clear(pass)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.UndefineSecret(context.Background(), rbdSecret) })
	var rbdPoolX libvirtxml.StoragePool
	if err := rbdPoolX.Unmarshal(mustVirsh(t, env.URI, "pool-dumpxml", env.RBDPool)); err != nil || rbdPoolX.Source == nil {
		t.Fatalf("rbd pool XML: %v", err)
	}
	var mons []libvirtxml.DomainDiskSourceHost
	for _, h := range rbdPoolX.Source.Host {
		mons = append(mons, libvirtxml.DomainDiskSourceHost{Name: h.Name, Port: h.Port})
	}

	// An orphan: a non-private volume secret for a volume that does not
	// exist, with no value.
	orphanUUID := defineSecretXML(t, env.URI, &libvirtxml.Secret{Ephemeral: "no", Private: "no",
		Usage: &libvirtxml.SecretUsage{Type: "volume", Volume: "/nonexistent/" + prefix + ".img"}})

	// A shut-off VM using all four.
	vmName := prefix + "-vm"
	disk := func(dev, typ string, src *libvirtxml.DomainDiskSource) libvirtxml.DomainDisk {
		return libvirtxml.DomainDisk{Device: "disk", Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: typ},
			Source: src, Target: &libvirtxml.DomainDiskTarget{Dev: dev, Bus: "virtio"}}
	}
	luksDisk := disk("vdc", "raw", &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: encPath}})
	luksDisk.Encryption = &libvirtxml.DomainDiskEncryption{Format: "luks",
		Secrets: []libvirtxml.DomainDiskSecret{{Type: "passphrase", UUID: encSecret}}}
	dom := libvirtxml.Domain{Type: "qemu", Name: vmName, Memory: &libvirtxml.DomainMemory{Value: 32, Unit: "MiB"},
		OS: &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"}},
		Devices: &libvirtxml.DomainDeviceList{Disks: []libvirtxml.DomainDisk{
			disk("vdb", "raw", &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: rawPath}}),
			luksDisk,
			disk("vdd", "qcow2", &libvirtxml.DomainDiskSource{Volume: &libvirtxml.DomainDiskSourceVolume{Pool: env.DirPool, Volume: qName}}),
			disk("vde", "raw", &libvirtxml.DomainDiskSource{
				Network: &libvirtxml.DomainDiskSourceNetwork{Protocol: "rbd", Name: env.CephPool + "/" + rbdName, Hosts: mons,
					Auth: &libvirtxml.DomainDiskAuth{Username: env.CephUser, Secret: &libvirtxml.DomainDiskSecret{Type: "ceph", UUID: env.CephSecret}}},
				Encryption: &libvirtxml.DomainDiskEncryption{Format: "luks2", Engine: "librbd",
					Secrets: []libvirtxml.DomainDiskSecret{{Type: "passphrase", UUID: rbdSecret}}}}),
		}}}
	domXML, err := dom.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "vm.xml")
	if err := os.WriteFile(f, []byte(domXML), 0o600); err != nil {
		t.Fatal(err)
	}
	mustVirsh(t, env.URI, "define", f)
	t.Cleanup(func() { _, _ = virsh(t, env.URI, "undefine", vmName) })

	events := watchEvents(t, env.URI)
	before := readVirshView(t, env.URI)
	var stdout, stderr bytes.Buffer
	rc := cmdInventory([]string{"--uri", env.URI, "--json"}, &stdout, &stderr)
	after := readVirshView(t, env.URI)
	events.Stop()
	if rc != 0 {
		// Only another test's pool beyond libvirt's list limit may make
		// the inventory partial.
		for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
			if !strings.Contains(line, "REMOTE_STORAGE_VOL_LIST_MAX") {
				t.Fatalf("inventory rc=%d stderr=%s", rc, stderr.String())
			}
		}
	}
	var doc inventoryDoc
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("inventory JSON: %v", err)
	}
	if len(doc.Hosts) != 1 {
		t.Fatalf("hosts = %d, want 1", len(doc.Hosts))
	}
	h := doc.Hosts[0]
	got := stowageView(t, h)
	skipVols := func(pool string) bool { return before.unlisted[pool] || after.unlisted[pool] }
	// What explains an object stowage listed and neither virsh reading
	// did: libvirt's events naming it meanwhile.
	sawEvents := func(sub string) (bool, string) {
		ev := events.Saw(sub)
		if len(ev) == 0 {
			return false, "no libvirt event names it"
		}
		return true, strings.Join(ev, "; ")
	}

	n := churnCheck(t, "pool", got.pools, before.pools, after.pools, func(name string) (bool, string) {
		return sawEvents(fmt.Sprintf("for storage pool %s:", name))
	})
	if n < 3 {
		t.Errorf("only %d pools compared; the lab has 3", n)
	}
	// libvirt has no volume events: a volume that came and went between
	// the readings must at least be gone now.
	volGone := func(key string) (bool, string) {
		pool, name, _ := strings.Cut(key, "/")
		if _, ok := readVirshVol(t, env.URI, pool, name); ok {
			return false, "it exists now"
		}
		return true, "gone now; libvirt has no volume events"
	}
	n = churnCheck(t, "volume", flatVols(got, skipVols), flatVols(before, skipVols), flatVols(after, skipVols), volGone)
	if n < 4 {
		t.Errorf("only %d volumes compared; the test made 4", n)
	}
	n = churnCheck(t, "VM", vmsOnly(got), vmsOnly(before), vmsOnly(after), func(name string) (bool, string) {
		return sawEvents(fmt.Sprintf("for domain '%s':", name))
	})
	if n < 2 {
		t.Errorf("only %d VMs compared; the lab VM and the test's make 2", n)
	}
	n = churnCheck(t, "VM disk", flatDisks(got), flatDisks(before), flatDisks(after), func(key string) (bool, string) {
		vm, _, _ := strings.Cut(key, ":")
		return sawEvents(fmt.Sprintf("for domain '%s':", vm))
	})
	if n < 4 {
		t.Errorf("only %d VM disks compared; the test's VM has 4", n)
	}
	n = churnCheck(t, "secret", got.secrets, before.secrets, after.secrets, func(uuid string) (bool, string) {
		return sawEvents(fmt.Sprintf("for secret %s:", uuid))
	})
	if n < 4 {
		t.Errorf("only %d secrets compared; the lab's and the test's make 4", n)
	}
	n = churnCheck(t, "attachments of volume", stowageAttachments(h, skipVols), virshAttachments(before, skipVols),
		virshAttachments(after, skipVols), volGone)
	if n < 4 {
		t.Errorf("only %d volumes' attachments compared", n)
	}

	// The test's own objects, named: the generic checks above must have
	// had them to compare.
	want := map[string]string{env.DirPool + "/" + rawName: "vdb", env.DirPool + "/" + encName: "vdc",
		env.DirPool + "/" + qName: "vdd", env.RBDPool + "/" + rbdName: "vde"}
	for key, dev := range want {
		pool, name, _ := strings.Cut(key, "/")
		v := findVolume(h, pool, name)
		if v == nil || !hasAttachment(v.AttachedTo, vmName, dev) {
			t.Errorf("volume %s: %+v; want it attached to %s:%s", key, v, vmName, dev)
		}
	}
	if enc := findVolume(h, env.DirPool, encName); enc == nil || enc.Encryption == nil || enc.Encryption.Format != "luks" ||
		enc.Encryption.SecretUUID != encSecret || enc.SecretState != model.SecretPrivate {
		t.Errorf("LUKS volume: %+v; want luks with private secret %s", enc, encSecret)
	}
	// The rbd pool cannot see librbd encryption inside an image: the
	// inventory shows the disk's, and the state of the disk's secret.
	if v := findVolume(h, env.RBDPool, rbdName); v == nil || v.Encryption != nil || v.DiskEncryption == nil ||
		*v.DiskEncryption != (model.Encryption{Format: "luks2", Engine: "librbd", SecretUUID: rbdSecret}) || v.SecretState != model.SecretPrivate {
		t.Errorf("rbd volume: %+v; want disk_encryption luks2/librbd with private secret %s", v, rbdSecret)
	}
	// Every encrypted volume's secret state, from virsh's secrets: private
	// ones cannot be read back, absent ones are missing. (Non-private
	// secrets would need their values read: not compared.)
	for key := range flatVols(got, skipVols) {
		bv, inB := flatVols(before, skipVols)[key]
		av, inA := flatVols(after, skipVols)[key]
		if !inB || !inA || bv.EncSecret != av.EncSecret || bv.EncSecret == "" {
			continue
		}
		pool, name, _ := strings.Cut(key, "/")
		state := findVolume(h, pool, name).SecretState
		bs, inBS := before.secrets[bv.EncSecret]
		as, inAS := after.secrets[bv.EncSecret]
		switch {
		case inBS && inAS && bs.Private && as.Private && state != model.SecretPrivate:
			t.Errorf("volume %s: secret state %q; virsh: secret %s is private", key, state, bv.EncSecret)
		case !inBS && !inAS && state != model.SecretMissing:
			t.Errorf("volume %s: secret state %q; virsh: secret %s does not exist", key, state, bv.EncSecret)
		}
	}

	var orphan *model.SecretInfo
	for i := range h.Secrets {
		if h.Secrets[i].UUID == orphanUUID {
			orphan = &h.Secrets[i]
		}
	}
	if orphan == nil || orphan.Orphan == "" || orphan.Value != model.ValueUnset {
		t.Errorf("orphan secret: %+v; want orphan with value unset", orphan)
	}
	if bytes.Contains(stdout.Bytes(), []byte("passphrase")) {
		t.Error("inventory output mentions a passphrase")
	}
}

// stowageView puts the inventory in virshView's terms; a name listed
// twice (which a map would hide) fails the test.
func stowageView(t *testing.T, h model.HostInfo) virshView {
	t.Helper()
	seen := map[string]bool{}
	once := func(kind, name string) {
		if seen[kind+" "+name] {
			t.Errorf("stowage lists %s %s twice", kind, name)
		}
		seen[kind+" "+name] = true
	}
	v := virshView{pools: map[string]vPool{}, vols: map[string]map[string]vVol{}, vms: map[string]vVM{}, secrets: map[string]vSecret{}}
	for _, p := range h.Pools {
		once("pool", p.Name)
		v.pools[p.Name] = vPool{Type: string(p.Type), UUID: p.UUID, Active: p.Active, Persistent: p.Persistent,
			Autostart: p.Autostart, Capacity: p.Capacity, TargetPath: p.TargetPath, SourceName: p.SourceName}
		vols := map[string]vVol{}
		for _, x := range p.Volumes {
			once("volume", p.Name+"/"+x.Name)
			vv := vVol{Type: x.Type, Path: x.Path, Format: x.Format, Capacity: x.Capacity}
			if x.Encryption != nil {
				vv.EncFormat, vv.EncSecret = x.Encryption.Format, x.Encryption.SecretUUID
			}
			vols[x.Name] = vv
		}
		v.vols[p.Name] = vols
	}
	for _, d := range h.Domains {
		once("VM", d.Name)
		vm := vVM{UUID: d.UUID, State: d.State, Persistent: d.Persistent, Disks: map[string]vDisk{}}
		for _, k := range d.Disks {
			once("VM disk", d.Name+":"+k.Target)
			vd := vDisk{Device: k.Device, Bus: k.Bus, SourceType: k.SourceType, Source: k.Source, Pool: k.Pool, Volume: k.Volume}
			if e := k.Encryption; e != nil {
				vd.EncFormat, vd.EncEngine, vd.EncSecret = e.Format, e.Engine, e.SecretUUID
			}
			vm.Disks[k.Target] = vd
		}
		v.vms[d.Name] = vm
	}
	for _, s := range h.Secrets {
		once("secret", s.UUID)
		v.secrets[s.UUID] = vSecret{UsageType: s.UsageType, UsageID: s.UsageID, Private: s.Private, Ephemeral: s.Ephemeral}
	}
	return v
}

// flatVols keys a view's volumes by pool/name, leaving out pools skip
// names.
func flatVols(v virshView, skip func(string) bool) map[string]vVol {
	out := map[string]vVol{}
	for p, vols := range v.vols {
		if skip(p) {
			continue
		}
		for n, x := range vols {
			out[p+"/"+n] = x
		}
	}
	return out
}

// vmsOnly is the VMs without their disks (compared one by one).
func vmsOnly(v virshView) map[string]vVM {
	out := map[string]vVM{}
	for n, vm := range v.vms {
		vm.Disks = nil
		out[n] = vm
	}
	return out
}

func flatDisks(v virshView) map[string]vDisk {
	out := map[string]vDisk{}
	for n, vm := range v.vms {
		for dev, d := range vm.Disks {
			out[n+":"+dev] = d
		}
	}
	return out
}

// virshAttachments derives, from virsh's view alone, which VM disks use
// each volume: a file or block disk by the volume's path, a pool volume
// by pool/name, an rbd disk by the image (the rbd volume's path is
// cephpool/image).
func virshAttachments(v virshView, skip func(string) bool) map[string]string {
	byPath := map[string]string{}
	vols := flatVols(v, skip)
	out := map[string]string{}
	for key, x := range vols {
		out[key] = ""
		if x.Path != "" {
			byPath[x.Path] = key
		}
	}
	uses := map[string][]string{}
	for vm, d := range v.vms {
		for dev, k := range d.Disks {
			var key string
			switch k.SourceType {
			case "volume":
				key = k.Pool + "/" + k.Volume
			case "network":
				_, name, _ := strings.Cut(k.Source, ":")
				key = byPath[name]
			default:
				key = byPath[k.Source]
			}
			if _, ok := vols[key]; ok {
				uses[key] = append(uses[key], vm+":"+dev)
			}
		}
	}
	for key, u := range uses {
		slices.Sort(u)
		out[key] = strings.Join(u, " ")
	}
	return out
}

func stowageAttachments(h model.HostInfo, skip func(string) bool) map[string]string {
	out := map[string]string{}
	for _, p := range h.Pools {
		if skip(p.Name) {
			continue
		}
		for _, x := range p.Volumes {
			var u []string
			for _, a := range x.AttachedTo {
				u = append(u, a.VM+":"+a.Target)
			}
			slices.Sort(u)
			out[p.Name+"/"+x.Name] = strings.Join(u, " ")
		}
	}
	return out
}

func findVolume(h model.HostInfo, pool, name string) *model.VolumeInfo {
	for _, p := range h.Pools {
		if p.Name != pool {
			continue
		}
		for i := range p.Volumes {
			if p.Volumes[i].Name == name {
				return &p.Volumes[i]
			}
		}
	}
	return nil
}

func hasAttachment(as []model.Attachment, vm, dev string) bool {
	for _, a := range as {
		if a.VM == vm && a.Target == dev {
			return true
		}
	}
	return false
}

// TestLabInventoryPartialFailure: one host unreachable, one readable: the
// readable one is printed, the reason goes to stderr, the exit status is 1.
func TestLabInventoryPartialFailure(t *testing.T) {
	lab.Need(t)
	var stdout, stderr bytes.Buffer
	rc := cmdInventory([]string{"--json", "--timeout", "3s",
		"--uri", "qemu:///system?socket=/nonexistent/t-browse.sock", "--uri", "test:///default"}, &stdout, &stderr)
	if rc != 1 {
		t.Errorf("rc = %d, want 1", rc)
	}
	if !strings.Contains(stderr.String(), "/nonexistent/t-browse.sock") || !strings.Contains(stderr.String(), "is libvirtd running") {
		t.Errorf("stderr lacks the reason: %q", stderr.String())
	}
	var doc inventoryDoc
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || len(doc.Hosts) != 1 || doc.Hosts[0].URI != "test:///default" {
		t.Fatalf("stdout: %v %s", err, stdout.String())
	}
	if h := doc.Hosts[0]; h.PoolCapsKnown || len(h.Pools) == 0 || !strings.Contains(h.Pools[0].CreateReason, "assumed present") {
		t.Errorf("test driver host: caps known %v, pools %+v", h.PoolCapsKnown, h.Pools)
	}
	if rc := cmdInventory([]string{"--uri", "nope"}, &stdout, &stderr); rc != 2 {
		t.Errorf("invalid URI: rc %d, want 2", rc)
	}
}
