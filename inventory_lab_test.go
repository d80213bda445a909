package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"

	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
)

func virsh(t *testing.T, uri string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command("virsh", append([]string{"-q", "-c", uri}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("virsh %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

func mustVirsh(t *testing.T, uri string, args ...string) string {
	t.Helper()
	out, err := virsh(t, uri, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func size(t *testing.T, v uint64, unit string) uint64 {
	n, err := model.ScaleUnit(v, unit)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLabInventoryMatchesVirsh compares `stowage inventory --json` with
// virsh's own view of every lab pool and volume, an encrypted volume and an
// attachment the test makes (and removes) itself. Other helpers share the
// lab, so volumes that appear or vanish while the test runs are skipped:
// only those virsh lists before and after the inventory are compared.
func TestLabInventoryMatchesVirsh(t *testing.T) {
	env := lab.Need(t)
	ctx := context.Background()
	c, err := libvirtx.Dial(ctx, env.URI, libvirtx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	prefix := fmt.Sprintf("t-browse-%d", time.Now().UnixNano())

	// An encrypted volume with a private secret whose value is random and
	// never printed.
	// qemu-img wants the passphrase as UTF-8 text: hex of random bytes.
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	pass := []byte(hex.EncodeToString(raw))
	clear(raw)
	pools, err := c.Pools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var dirPath string
	for _, p := range pools {
		if p.Name == env.DirPool {
			dirPath = p.TargetPath
		}
	}
	encName := prefix + "-luks.img"
	secretUUID, err := c.DefineSecret(ctx, libvirtx.SecretSpec{UsageType: "volume", UsageID: filepath.Join(dirPath, encName), Description: "stowage test " + prefix}, pass)
	clear(pass)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.UndefineSecret(context.Background(), secretUUID) })
	if _, err := c.CreateVolume(ctx, env.DirPool, libvirtx.VolumeSpec{Name: encName, Capacity: 8 << 20, Format: "raw",
		Encryption: &model.Encryption{Format: "luks", SecretUUID: secretUUID}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteVolume(context.Background(), env.DirPool, encName) })

	// A plain volume attached live to the lab VM.
	attName := prefix + "-att.raw"
	att, err := c.CreateVolume(ctx, env.DirPool, libvirtx.VolumeSpec{Name: attName, Capacity: 4 << 20, Format: "raw"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteVolume(context.Background(), env.DirPool, attName) })
	dev := freeTarget(t, env)
	mustVirsh(t, env.URI, "attach-disk", env.VM, att.Path, dev, "--live", "--targetbus", "virtio")
	t.Cleanup(func() {
		_, _ = virsh(t, env.URI, "detach-disk", env.VM, dev, "--live")
		// The lab guest has no OS to acknowledge the unplug: the disk
		// stays in the running VM until it restarts.
		if out, _ := virsh(t, env.URI, "domblklist", env.VM); strings.Contains(out, dev) {
			env.RestartVM(t)
		}
	})

	// An orphan: a non-private volume secret for a volume that does not
	// exist, with no value.
	orphanXML, _ := (&libvirtxml.Secret{Ephemeral: "no", Private: "no",
		Usage: &libvirtxml.SecretUsage{Type: "volume", Volume: "/nonexistent/" + prefix + ".img"}}).Marshal()
	f := filepath.Join(t.TempDir(), "secret.xml")
	if err := os.WriteFile(f, []byte(orphanXML), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("virsh", "-c", env.URI, "secret-define", f).Output()
	if err != nil || len(strings.Fields(string(out))) < 2 {
		t.Fatalf("virsh secret-define: %q %v", out, err)
	}
	orphanUUID := strings.Fields(string(out))[1]
	t.Cleanup(func() { _, _ = virsh(t, env.URI, "secret-undefine", orphanUUID) })

	before := virshVolumes(t, env.URI)
	var stdout, stderr bytes.Buffer
	if rc := cmdInventory([]string{"--uri", env.URI, "--json"}, &stdout, &stderr); rc != 0 {
		t.Fatalf("inventory rc=%d stderr=%s", rc, stderr.String())
	}
	after := virshVolumes(t, env.URI)
	var doc inventoryDoc
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("inventory JSON: %v", err)
	}
	if len(doc.Hosts) != 1 {
		t.Fatalf("hosts = %d, want 1", len(doc.Hosts))
	}
	h := doc.Hosts[0]
	if !h.PoolCapsKnown {
		t.Error("qemu:///system reports pool capabilities; pool_capabilities_known is false")
	}

	virshPools := strings.Fields(mustVirsh(t, env.URI, "pool-list", "--all", "--name"))
	got := map[string]libvirtx.PoolInfo{}
	for _, p := range h.Pools {
		got[p.Name] = p
	}
	for _, name := range virshPools {
		p, ok := got[name]
		if !ok {
			if strings.HasPrefix(name, "stowage-lab-") {
				t.Errorf("pool %s missing from inventory", name)
			}
			continue
		}
		var x libvirtxml.StoragePool
		if err := x.Unmarshal(mustVirsh(t, env.URI, "pool-dumpxml", name)); err != nil {
			t.Fatal(err)
		}
		if string(p.Type) != x.Type || p.UUID != x.UUID {
			t.Errorf("pool %s: type %s uuid %s; virsh says %s %s", name, p.Type, p.UUID, x.Type, x.UUID)
		}
		if c := size(t, x.Capacity.Value, x.Capacity.Unit); p.Capacity != c {
			t.Errorf("pool %s: capacity %d, virsh %d", name, p.Capacity, c)
		}
		info := mustVirsh(t, env.URI, "pool-info", name)
		if strings.Contains(info, "State:          running") != p.Active {
			t.Errorf("pool %s: active=%v; virsh pool-info:\n%s", name, p.Active, info)
		}
		if want, _ := model.CreateAbility(p.Type, true); p.CanCreateVolumes != want || p.CreateReason == "" {
			t.Errorf("pool %s: can_create_volumes=%v (%q), want %v", name, p.CanCreateVolumes, p.CreateReason, want)
		}
		if !p.Active {
			continue
		}
		gotVols := map[string]libvirtx.VolumeInfo{}
		for _, v := range p.Volumes {
			gotVols[v.Name] = v
		}
		for vname := range before[name] {
			if !after[name][vname] {
				continue // deleted by someone else meanwhile
			}
			v, ok := gotVols[vname]
			if !ok {
				t.Errorf("volume %s/%s listed by virsh before and after, missing from inventory", name, vname)
				continue
			}
			doc, err := virsh(t, env.URI, "vol-dumpxml", "--pool", name, vname)
			if err != nil {
				continue // gone since
			}
			var xv libvirtxml.StorageVolume
			if err := xv.Unmarshal(doc); err != nil {
				t.Fatal(err)
			}
			if c := size(t, xv.Capacity.Value, xv.Capacity.Unit); v.Capacity != c {
				t.Errorf("volume %s/%s: capacity %d, virsh %d", name, vname, v.Capacity, c)
			}
			if xv.Target != nil && xv.Target.Path != v.Path {
				t.Errorf("volume %s/%s: path %q, virsh %q", name, vname, v.Path, xv.Target.Path)
			}
			var xe *libvirtxml.StorageEncryption
			if xv.Target != nil {
				xe = xv.Target.Encryption
			}
			switch {
			case xe == nil && v.Encryption != nil:
				t.Errorf("volume %s/%s: encryption %+v, virsh none", name, vname, v.Encryption)
			case xe != nil && (v.Encryption == nil || v.Encryption.Format != xe.Format || xe.Secret == nil || v.Encryption.SecretUUID != xe.Secret.UUID):
				t.Errorf("volume %s/%s: encryption %+v, virsh %+v", name, vname, v.Encryption, xe)
			}
		}
	}

	enc := findVolume(h, env.DirPool, encName)
	if enc == nil || enc.Encryption == nil || enc.Encryption.Format != "luks" || enc.Encryption.SecretUUID != secretUUID {
		t.Fatalf("encrypted volume: %+v", enc)
	}
	if enc.SecretState != libvirtx.SecretPrivate {
		t.Errorf("encrypted volume's secret state %q, want %q (private secret)", enc.SecretState, libvirtx.SecretPrivate)
	}

	// Attachments: every disk virsh shows on the VM whose source is a
	// listed volume appears in that volume's attached_to.
	var dx libvirtxml.Domain
	if err := dx.Unmarshal(mustVirsh(t, env.URI, "dumpxml", env.VM)); err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, d := range dx.Devices.Disks {
		if d.Source == nil || d.Source.File == nil || d.Target == nil {
			continue
		}
		for _, p := range h.Pools {
			for _, v := range p.Volumes {
				if v.Path != d.Source.File.File {
					continue
				}
				if !hasAttachment(v.AttachedTo, env.VM, d.Target.Dev) {
					t.Errorf("volume %s/%s: attached_to %v lacks %s:%s", p.Name, v.Name, v.AttachedTo, env.VM, d.Target.Dev)
				}
				if v.Name == attName {
					seen = true
				}
			}
		}
	}
	if !seen {
		t.Errorf("the test's attachment %s on %s is not in virsh dumpxml or not matched", attName, dev)
	}
	if a := findVolume(h, env.DirPool, attName); a == nil || !hasAttachment(a.AttachedTo, env.VM, dev) {
		t.Errorf("attached volume: %+v, want attached_to %s:%s", a, env.VM, dev)
	}

	var orphan *libvirtx.SecretInfo
	for i := range h.Secrets {
		if h.Secrets[i].UUID == orphanUUID {
			orphan = &h.Secrets[i]
		}
	}
	if orphan == nil || orphan.Orphan == "" || orphan.Value != libvirtx.ValueUnset {
		t.Errorf("orphan secret: %+v; want orphan with value unset", orphan)
	}
	if bytes.Contains(stdout.Bytes(), []byte("passphrase")) {
		t.Error("inventory output mentions a passphrase")
	}
}

// virshVolumes maps each active pool to its volume names, as virsh lists them.
func virshVolumes(t *testing.T, uri string) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, p := range strings.Fields(mustVirsh(t, uri, "pool-list", "--name")) {
		out[p] = map[string]bool{}
		list, err := virsh(t, uri, "vol-list", "--pool", p)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(list, "\n") {
			if f := strings.Fields(line); len(f) > 0 {
				out[p][f[0]] = true
			}
		}
	}
	return out
}

func freeTarget(t *testing.T, env lab.Env) string {
	xml := mustVirsh(t, env.URI, "dumpxml", env.VM)
	for c := 'z'; c > 'c'; c-- {
		dev := "vd" + string(c)
		if !strings.Contains(xml, "dev='"+dev+"'") {
			return dev
		}
	}
	t.Fatal("no free virtio target on the lab VM")
	return ""
}

func findVolume(h libvirtx.HostInfo, pool, name string) *libvirtx.VolumeInfo {
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

func hasAttachment(as []libvirtx.Attachment, vm, dev string) bool {
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
