package libvirtx_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
)

// fixtureURI opens testdata/host.xml through the lab's libvirtd.
func fixtureURI(t *testing.T) string {
	t.Helper()
	lab.Need(t)
	p, err := filepath.Abs("../testdata/host.xml")
	if err != nil {
		t.Fatal(err)
	}
	return "test://" + p
}

// TestFixtureHostInventory reads the test-driver fixture host and checks
// what the golden screens show: pool types with their create ability, the
// LUKS volume, attachments, and a host without a secret API read without
// error.
func TestFixtureHostInventory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := libvirtx.Dial(ctx, fixtureURI(t), libvirtx.Options{})
	if err != nil {
		t.Fatalf("dial the fixture host: %v", err)
	}
	defer c.Close()
	h := c.Inventory(ctx)
	if len(h.Errors) > 0 {
		t.Fatalf("fixture host read with errors: %v", h.Errors)
	}
	if h.PoolCapsKnown || h.SecretsKnown {
		t.Errorf("test driver: pool caps known %v, secrets known %v; want both false", h.PoolCapsKnown, h.SecretsKnown)
	}
	want := map[string]struct {
		typ    model.PoolType
		create bool
	}{
		"images": {model.PoolDir, true}, "vg0": {model.PoolLogical, true}, "rbd": {model.PoolRBD, true},
		"san": {model.PoolISCSI, false}, "gv0": {model.PoolGluster, false},
	}
	vols := map[string]model.VolumeInfo{}
	for _, p := range h.Pools {
		w, ok := want[p.Name]
		if !ok {
			t.Errorf("unexpected pool %s", p.Name)
			continue
		}
		delete(want, p.Name)
		if p.Type != w.typ || p.CanCreateVolumes != w.create || p.CreateReason == "" {
			t.Errorf("pool %s: %s can create %v (%q); want %s, %v", p.Name, p.Type, p.CanCreateVolumes, p.CreateReason, w.typ, w.create)
		}
		for _, v := range p.Volumes {
			vols[p.Name+"/"+v.Name] = v
		}
	}
	if len(want) > 0 {
		t.Errorf("pools missing: %v", want)
	}
	luks := vols["images/vault.luks"]
	if luks.Encryption == nil || luks.Encryption.Format != "luks" || luks.Encryption.SecretUUID != "0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f" ||
		luks.SecretState != model.SecretUnknown {
		t.Errorf("vault.luks: encryption %+v, secret state %q", luks.Encryption, luks.SecretState)
	}
	if a := vols["vg0/db-data"].AttachedTo; len(a) != 2 {
		t.Errorf("db-data attached to %v; want db1:sda and web1:vdc", a)
	}
	if a := vols["rbd/db-backup"].AttachedTo; len(a) != 1 || a[0].VM != "db1" || a[0].Target != "sdb" {
		t.Errorf("db-backup attached to %v; want db1:sdb", a)
	}
	states := map[string]string{}
	for _, d := range h.Domains {
		states[d.Name] = d.State
	}
	if states["web1"] != "running" || states["db1"] != "shut off" {
		t.Errorf("domain states %v", states)
	}
}
