package cli

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"stowage/lab"
	"stowage/model"
)

// hostPoolCaps is virsh pool-capabilities, read by the test itself: which
// pool types this libvirtd has a backend for. libvirtxml v1.12007.0 has no
// type for <storagepoolCapabilities>, so encoding/xml reads the two
// attributes (stowage's own parser is not used: the test must not grade
// stowage with stowage).
func hostPoolCaps(t *testing.T, uri string) map[string]string {
	t.Helper()
	var doc struct {
		Pools []struct {
			Type      string `xml:"type,attr"`
			Supported string `xml:"supported,attr"`
		} `xml:"pool"`
	}
	if err := xml.Unmarshal([]byte(mustVirsh(t, uri, "pool-capabilities")), &doc); err != nil {
		t.Fatalf("parse virsh pool-capabilities: %v", err)
	}
	caps := map[string]string{}
	for _, p := range doc.Pools {
		caps[p.Type] = p.Supported
	}
	if len(caps) == 0 {
		t.Fatal("virsh pool-capabilities lists no pool types")
	}
	return caps
}

// TestLabCanCreateMatchesBackends checks "can create drives" for every lab
// pool against the lab itself, never against stowage's own rules:
//   - the host's backends, from virsh pool-capabilities: a pool whose
//     backend the host lacks cannot create drives, and "yes" needs the
//     backend;
//   - what the backend really does: where stowage says yes, virsh creates
//     (and deletes) a small volume in that pool; where it says no, virsh's
//     create must fail, and fail because the backend cannot create
//     volumes (libvirt's "does not support volume creation"), with nothing
//     made.
//
// Other tests share these pools; the probe volume's name is this test's own.
func TestLabCanCreateMatchesBackends(t *testing.T) {
	env := lab.Need(t)
	caps := hostPoolCaps(t, env.URI)
	var stdout, stderr bytes.Buffer
	if rc := cmdInventory([]string{"--uri", env.URI, "--json"}, &stdout, &stderr); rc != 0 {
		t.Fatalf("inventory rc=%d stderr=%s", rc, stderr.String())
	}
	var doc inventoryDoc
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || len(doc.Hosts) != 1 {
		t.Fatalf("inventory JSON: %v (%d hosts)", err, len(doc.Hosts))
	}
	h := doc.Hosts[0]
	if !h.PoolCapsKnown {
		t.Error("virsh pool-capabilities answers on this host, but stowage says pool capabilities are unknown")
	}
	pools := map[string]model.PoolInfo{}
	for _, p := range h.Pools {
		pools[p.Name] = p
	}
	for _, name := range []string{env.DirPool, env.RBDPool, env.ISCSIPool} {
		t.Run(name, func(t *testing.T) {
			p, ok := pools[name]
			if !ok {
				t.Fatalf("lab pool %s is not in the inventory", name)
			}
			// The pool's type as libvirt says, not as stowage does.
			var px struct {
				Type string `xml:"type,attr"`
			}
			if err := xml.Unmarshal([]byte(mustVirsh(t, env.URI, "pool-dumpxml", name)), &px); err != nil {
				t.Fatal(err)
			}
			if string(p.Type) != px.Type {
				t.Errorf("type %s, virsh says %s", p.Type, px.Type)
			}
			if p.CreateReason == "" {
				t.Error("no create_reason: the admin is not told why")
			}
			supported, listed := caps[px.Type]
			if !listed {
				t.Errorf("virsh pool-capabilities does not list type %s at all", px.Type)
			}
			if supported != "yes" && p.CanCreateVolumes {
				t.Errorf("can_create_volumes=true, but the host's pool-capabilities say supported=%q for %s", supported, px.Type)
			}

			probe := fmt.Sprintf("t-cancreate-%d", time.Now().UnixNano())
			args := []string{"vol-create-as", name, probe, "1M"}
			if px.Type == "dir" {
				args = append(args, "--format", "raw")
			}
			_, err := virsh(t, env.URI, args...)
			made := volumeExists(t, env.URI, name, probe)
			if err == nil || made {
				t.Cleanup(func() { _, _ = virsh(t, env.URI, "vol-delete", "--pool", name, probe) })
			}
			switch {
			case p.CanCreateVolumes && err != nil:
				t.Fatalf("stowage says drives can be created (%s), but libvirt cannot: %v", p.CreateReason, err)
			case p.CanCreateVolumes:
				if !made {
					t.Fatalf("virsh created %s but vol-list does not show it", probe)
				}
				if _, err := virsh(t, env.URI, "vol-delete", "--pool", name, probe); err != nil {
					t.Fatalf("the probe volume cannot be deleted again: %v", err)
				}
				if volumeExists(t, env.URI, name, probe) {
					t.Errorf("probe volume %s still listed after vol-delete", probe)
				}
			case err == nil:
				t.Fatalf("stowage says no (%s), but libvirt created a volume in %s", p.CreateReason, name)
			default:
				// The refusal must be the backend's inability, not some
				// other failure (a full pool, a typo in the test).
				if !strings.Contains(err.Error(), "does not support volume creation") {
					t.Errorf("libvirt refused, but not because the backend cannot create volumes: %v", err)
				}
				if made {
					t.Errorf("the refused create left %s in %s", probe, name)
				}
			}
		})
	}
}

// volumeExists asks virsh whether pool lists a volume of that name.
func volumeExists(t *testing.T, uri, pool, name string) bool {
	t.Helper()
	names, err := virshVolNames(t, uri, pool)
	if err != nil {
		t.Fatal(err)
	}
	return names[name]
}
