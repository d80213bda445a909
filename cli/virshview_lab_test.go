package cli

import (
	"fmt"
	"slices"
	"sort"
	"stowage/lab"
	"strings"
	"testing"

	"libvirt.org/go/libvirtxml"
)

// virshView is one reading of a host through virsh alone (the test's
// independent witness): pools, volumes, VMs with their disks, secrets.
// Objects that vanish while it is read are left out, as if read a moment
// later.
type virshView struct {
	pools map[string]vPool
	vols  map[string]map[string]vVol // pool → volume name
	// unlisted are active pools whose volumes virsh could not list (more
	// than libvirt's RPC lists: vol-list fails outright).
	unlisted map[string]bool
	vms      map[string]vVM
	secrets  map[string]vSecret // by UUID
}

type vPool struct {
	Type, UUID                    string
	Active, Persistent, Autostart bool
	Capacity                      uint64
	TargetPath, SourceName        string
}

type vVol struct {
	Type, Path, Format   string
	Capacity             uint64
	EncFormat, EncSecret string
}

type vVM struct {
	UUID, State string
	Persistent  bool
	Disks       map[string]vDisk // by target device
}

// vDisk is a disk as stowage names its parts: Source is the file, the
// block device, pool/volume, or protocol:name; an encryption without an
// engine attribute is libvirt's default engine, qemu.
type vDisk struct {
	Device, Bus, SourceType, Source, Pool, Volume string
	EncFormat, EncEngine, EncSecret               string
}

type vSecret struct {
	UsageType, UsageID string
	Private, Ephemeral bool
}

// readVirshView reads the whole host with virsh, one command per object.
func readVirshView(t *testing.T, uri string) virshView {
	t.Helper()
	v := virshView{pools: map[string]vPool{}, vols: map[string]map[string]vVol{}, unlisted: map[string]bool{},
		vms: map[string]vVM{}, secrets: map[string]vSecret{}}
	for _, name := range strings.Fields(mustVirsh(t, uri, "pool-list", "--all", "--name")) {
		p, ok := readVirshPool(t, uri, name)
		if !ok {
			continue
		}
		v.pools[name] = p
		if !p.Active {
			continue
		}
		names, err := virshVolNames(t, uri, name)
		if err != nil {
			if _, still := readVirshPool(t, uri, name); still && strings.Contains(err.Error(), "Too many") {
				v.unlisted[name] = true
			}
			continue
		}
		vols := map[string]vVol{}
		for vname := range names {
			if vol, ok := readVirshVol(t, uri, name, vname); ok {
				vols[vname] = vol
			}
		}
		v.vols[name] = vols
	}
	for _, name := range strings.Fields(mustVirsh(t, uri, "list", "--all", "--name")) {
		if vm, ok := readVirshVM(t, uri, name); ok {
			v.vms[name] = vm
		}
	}
	list, _ := virsh(t, uri, "secret-list")
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		doc, err := virsh(t, uri, "secret-dumpxml", f[0])
		if err != nil {
			continue // undefined since
		}
		var x libvirtxml.Secret
		if err := x.Unmarshal(doc); err != nil {
			t.Fatalf("secret %s: %v", f[0], err)
		}
		s := vSecret{Private: x.Private == "yes", Ephemeral: x.Ephemeral == "yes"}
		if x.Usage != nil {
			s.UsageType = x.Usage.Type
			s.UsageID = x.Usage.Name
			switch x.Usage.Type {
			case "volume":
				s.UsageID = x.Usage.Volume
			case "iscsi":
				s.UsageID = x.Usage.Target
			}
		}
		v.secrets[x.UUID] = s
	}
	return v
}

func readVirshPool(t *testing.T, uri, name string) (vPool, bool) {
	t.Helper()
	doc, err := virsh(t, uri, "pool-dumpxml", name)
	if err != nil {
		return vPool{}, false
	}
	var x libvirtxml.StoragePool
	if err := x.Unmarshal(doc); err != nil {
		t.Fatalf("pool %s: %v", name, err)
	}
	p := vPool{Type: x.Type, UUID: x.UUID}
	if x.Capacity != nil {
		p.Capacity = size(t, x.Capacity.Value, x.Capacity.Unit)
	}
	if x.Target != nil {
		p.TargetPath = x.Target.Path
	}
	if x.Source != nil {
		p.SourceName = x.Source.Name
	}
	info, err := virsh(t, uri, "pool-info", name)
	if err != nil {
		return vPool{}, false
	}
	kv := colonFields(info)
	p.Active = kv["State"] == "running"
	p.Persistent = kv["Persistent"] == "yes"
	p.Autostart = kv["Autostart"] == "yes"
	return p, true
}

// virshVolNames lists a pool's volume names (the first column of
// vol-list; test and lab volume names hold no blanks).
func virshVolNames(t *testing.T, uri, pool string) (map[string]bool, error) {
	t.Helper()
	out := map[string]bool{}
	list, err := virsh(t, uri, "vol-list", "--pool", pool)
	if err != nil {
		return out, err
	}
	for _, line := range strings.Split(list, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			out[f[0]] = true
		}
	}
	return out, nil
}

func readVirshVol(t *testing.T, uri, pool, name string) (vVol, bool) {
	t.Helper()
	doc, err := virsh(t, uri, "vol-dumpxml", "--pool", pool, name)
	if err != nil {
		return vVol{}, false
	}
	var x libvirtxml.StorageVolume
	if err := x.Unmarshal(doc); err != nil {
		t.Fatalf("volume %s/%s: %v", pool, name, err)
	}
	v := vVol{Type: x.Type}
	if x.Capacity != nil {
		v.Capacity = size(t, x.Capacity.Value, x.Capacity.Unit)
	}
	if tg := x.Target; tg != nil {
		v.Path = tg.Path
		if tg.Format != nil {
			v.Format = tg.Format.Type
		}
		if e := tg.Encryption; e != nil {
			v.EncFormat = e.Format
			if e.Secret != nil {
				v.EncSecret = e.Secret.UUID
			}
		}
	}
	return v, true
}

func readVirshVM(t *testing.T, uri, name string) (vVM, bool) {
	t.Helper()
	doc, err := virsh(t, uri, "dumpxml", name)
	if err != nil {
		return vVM{}, false
	}
	state, err := virsh(t, uri, "domstate", name)
	if err != nil {
		return vVM{}, false
	}
	info, err := virsh(t, uri, "dominfo", name)
	if err != nil {
		return vVM{}, false
	}
	var x libvirtxml.Domain
	if err := x.Unmarshal(doc); err != nil {
		t.Fatalf("VM %s: %v", name, err)
	}
	vm := vVM{UUID: x.UUID, State: strings.TrimSpace(state), Persistent: colonFields(info)["Persistent"] == "yes", Disks: map[string]vDisk{}}
	if x.Devices != nil {
		for _, d := range x.Devices.Disks {
			k := virshDisk(d)
			vm.Disks[d.Target.Dev] = k
		}
	}
	return vm, true
}

func virshDisk(d libvirtxml.DomainDisk) vDisk {
	k := vDisk{Device: d.Device, Bus: d.Target.Bus}
	if k.Device == "" {
		k.Device = "disk" // libvirt's default
	}
	enc := d.Encryption
	if s := d.Source; s != nil {
		switch {
		case s.File != nil:
			k.SourceType, k.Source = "file", s.File.File
		case s.Block != nil:
			k.SourceType, k.Source = "block", s.Block.Dev
		case s.Dir != nil:
			k.SourceType, k.Source = "dir", s.Dir.Dir
		case s.Volume != nil:
			k.SourceType, k.Pool, k.Volume = "volume", s.Volume.Pool, s.Volume.Volume
			k.Source = s.Volume.Pool + "/" + s.Volume.Volume
		case s.Network != nil:
			k.SourceType, k.Source = "network", s.Network.Protocol+":"+s.Network.Name
		}
		if s.Encryption != nil {
			enc = s.Encryption
		}
	}
	if enc != nil {
		k.EncFormat, k.EncEngine = enc.Format, enc.Engine
		if k.EncEngine == "" {
			k.EncEngine = "qemu" // libvirt's default engine
		}
		for _, s := range enc.Secrets {
			k.EncSecret = s.UUID
		}
	}
	return k
}

// churnCheck compares one kind of object between stowage and two virsh
// readings taken just before and just after stowage's. Other tests share
// the lab, so objects may come and go meanwhile; the rules:
//   - in both readings (stable): stowage must list it;
//   - listed by stowage and by at least one reading: each attribute
//     stowage gives must equal that of a reading that has the object (when
//     the readings agree, that is plain equality);
//   - listed by stowage but by neither reading: it can only have lived
//     between the two readings, and explain must show it did (libvirt's
//     events named it meanwhile; for volumes, which have no events, it
//     must at least be gone now); anything else is a phantom;
//   - in one reading only, not in stowage's: it came or went meanwhile.
//
// With nothing else running, this is exact equality in both directions.
// got, before and after are keyed by the object's name; their values are
// the attributes compared (printed with %+v). It returns how many objects
// were compared, so that a caller can insist the check was not vacuous.
func churnCheck[V any](t *testing.T, kind string, got, before, after map[string]V, explain func(string) (bool, string)) (compared int) {
	t.Helper()
	names := map[string]bool{}
	for _, m := range []map[string]V{got, before, after} {
		for n := range m {
			names[n] = true
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		s, inS := got[n]
		b, inB := before[n]
		a, inA := after[n]
		switch {
		case inB && inA && !inS:
			t.Errorf("%s %s: virsh lists it before and after the inventory, stowage does not", kind, n)
		case inS && !inB && !inA:
			if ok, why := explain(n); ok {
				t.Logf("%s %s: only in stowage's inventory; it lived between the two virsh readings (%s)", kind, n, why)
			} else {
				t.Errorf("%s %s: in stowage's inventory, in neither virsh reading, and nothing shows it existed meanwhile (%s)", kind, n, why)
			}
		case inS:
			compared++
			have := renderAny(s)
			var want []string
			if inB {
				want = append(want, renderAny(b))
			}
			if inA {
				want = append(want, renderAny(a))
			}
			if !slices.Contains(want, have) {
				t.Errorf("%s %s differs:\n  stowage: %s\n  virsh:   %s", kind, n, have, strings.Join(want, "\n  or:      "))
			}
		}
	}
	return compared
}

// watchEvents is lab.WatchEvents (shared with cli's tests).
func watchEvents(t *testing.T, uri string) *lab.EventWatch { return lab.WatchEvents(t, uri) }

func renderAny(v any) string { return fmt.Sprintf("%+v", v) }
