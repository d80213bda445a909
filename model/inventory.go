package model

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// HostInfo is everything stowage knows about one host: the console's data
// and `stowage inventory`'s output. Sizes are bytes.
type HostInfo struct {
	URI               string `json:"uri"`
	Name              string `json:"name"`
	LibvirtVersion    string `json:"libvirt_version"`
	HypervisorVersion string `json:"hypervisor_version"`
	// PoolCapsKnown is false when the host could not report its storage
	// backends (test driver): can_create_volumes then assumes them present.
	PoolCapsKnown bool         `json:"pool_capabilities_known"`
	Pools         []PoolInfo   `json:"pools"`
	Domains       []Domain     `json:"domains"`
	Secrets       []SecretInfo `json:"secrets"`
	// SecretsKnown is false when the host has no secret API (libvirt's
	// test driver): encrypted volumes' secret state is then "unknown".
	SecretsKnown bool `json:"secrets_known"`
	// Errors are the parts that could not be read (a pool's volumes, the
	// domains…); the rest of the host is still shown.
	Errors []string `json:"errors,omitempty"`

	caps PoolCaps
}

// PoolInfo is a pool with what can be done in it and its volumes.
type PoolInfo struct {
	Pool
	CanCreateVolumes bool             `json:"can_create_volumes"`
	CreateReason     string           `json:"create_reason"`
	Encryption       []EncryptionKind `json:"encryption_kinds"`
	Volumes          []VolumeInfo     `json:"volumes"`
	// VolumesLoaded is false until the volume names arrived.
	VolumesLoaded bool `json:"-"`
	// VolumesNotListed counts the volumes libvirt's RPC could not list
	// (a pool of more than VolumeListMax volumes); see ListLimitError.
	VolumesNotListed int `json:"volumes_not_listed,omitempty"`
}

// VolumeInfo is a volume with its secret's state and where it is attached.
type VolumeInfo struct {
	Volume
	// SecretState is empty for unencrypted volumes; else present,
	// present-without-value, present-private or missing.
	SecretState SecretState `json:"secret_state,omitempty"`
	// DiskEncryption is the encryption a VM's disk applies to this volume
	// when the pool cannot see it (librbd LUKS lives inside the image), or,
	// for an rbd volume no VM uses, what its volume secret implies.
	DiskEncryption *Encryption  `json:"disk_encryption,omitempty"`
	AttachedTo     []Attachment `json:"attached_to"`
	// Loaded is false while only the name is known (rows come first,
	// details from one XML call per volume follow).
	Loaded bool `json:"-"`
}

// Attachment is one VM disk using a volume.
type Attachment struct {
	VM     string `json:"vm"`
	Target string `json:"target"`
}

// PartKind names a piece of a host's inventory as it arrives.
type PartKind int

// Parts, in roughly the order they arrive.
const (
	PartVersions PartKind = iota
	PartPools
	PartVolumeNames
	PartVolumes
	PartDomains
	PartSecrets
)

// Part is one piece of a host's inventory: the stream lets the console draw
// rows before the slower details arrive.
type Part struct {
	Kind    PartKind
	Lib, HV string
	Caps    PoolCaps
	Pools   []Pool
	Pool    string
	Names   []string
	Volumes []Volume
	Domains []Domain
	Secrets []SecretInfo
	// NoSecretAPI marks a PartSecrets from a host without a secret API.
	NoSecretAPI bool
	Err         error
}

// Apply merges one part into the host and reports whether anything the
// host shows changed. It is pure, so the console applies the same parts in
// its Update. A part equal to what the host holds (a poll of an idle host)
// leaves the host's slices as they were and reports false: the console
// then neither re-links nor redraws 10,000 rows for nothing.
func (h *HostInfo) Apply(p Part) (changed bool) {
	if p.Err != nil {
		h.Errors = append(h.Errors, p.Err.Error())
		changed = true
	}
	switch p.Kind {
	case PartVersions:
		if p.Err == nil && (h.LibvirtVersion != p.Lib || h.HypervisorVersion != p.HV) {
			h.LibvirtVersion, h.HypervisorVersion = p.Lib, p.HV
			changed = true
		}
	case PartPools:
		if p.Err != nil {
			return changed
		}
		old := map[string]PoolInfo{}
		for _, pi := range h.Pools {
			old[pi.Name] = pi
		}
		pools := make([]PoolInfo, 0, len(p.Pools))
		for _, mp := range p.Pools {
			pi := PoolInfo{Pool: mp, Volumes: []VolumeInfo{}}
			if prev, ok := old[mp.Name]; ok {
				pi.Volumes, pi.VolumesLoaded, pi.VolumesNotListed = prev.Volumes, prev.VolumesLoaded, prev.VolumesNotListed
			}
			pi.CanCreateVolumes, pi.CreateReason = p.Caps.CreateAbility(mp.Type)
			pi.Encryption = EncryptionKinds(mp.Type)
			if pi.Encryption == nil {
				pi.Encryption = []EncryptionKind{}
			}
			pools = append(pools, pi)
		}
		sort.Slice(pools, func(i, j int) bool { return pools[i].Name < pools[j].Name })
		if h.PoolCapsKnown == p.Caps.Known && reflect.DeepEqual(h.caps, p.Caps) && samePools(h.Pools, pools) {
			return changed
		}
		h.caps, h.PoolCapsKnown = p.Caps, p.Caps.Known
		h.Pools = pools
		changed = true
	case PartVolumeNames:
		pi := h.pool(p.Pool)
		var limit *ListLimitError
		if pi == nil || (p.Err != nil && !errors.As(p.Err, &limit)) {
			return changed
		}
		notListed := 0
		if limit != nil {
			notListed = limit.Total - limit.Listed
		}
		if pi.VolumesLoaded && pi.VolumesNotListed == notListed && sameNames(pi.Volumes, p.Names) {
			return changed
		}
		pi.VolumesNotListed = notListed
		// The known volumes are sorted by name: found by binary search, not
		// through a map that would copy all 10,000 of them once more.
		known := pi.Volumes
		vols := make([]VolumeInfo, 0, len(p.Names))
		for _, n := range p.Names {
			i := sort.Search(len(known), func(i int) bool { return known[i].Name >= n })
			if i < len(known) && known[i].Name == n {
				vols = append(vols, known[i])
				continue
			}
			vols = append(vols, VolumeInfo{Volume: Volume{Name: n, Pool: p.Pool}, AttachedTo: []Attachment{}})
		}
		sort.Slice(vols, func(i, j int) bool { return vols[i].Name < vols[j].Name })
		pi.Volumes, pi.VolumesLoaded = vols, true
		changed = true
	case PartVolumes:
		pi := h.pool(p.Pool)
		if pi == nil || p.Err != nil {
			return changed
		}
		vols := make([]VolumeInfo, 0, len(p.Volumes))
		for _, v := range p.Volumes {
			vols = append(vols, VolumeInfo{Volume: v, AttachedTo: []Attachment{}, Loaded: true})
		}
		sort.Slice(vols, func(i, j int) bool { return vols[i].Name < vols[j].Name })
		if pi.VolumesLoaded && sameVolumes(pi.Volumes, vols) {
			return changed
		}
		pi.Volumes, pi.VolumesLoaded = vols, true
		changed = true
	case PartDomains:
		if p.Err == nil {
			sort.Slice(p.Domains, func(i, j int) bool { return p.Domains[i].Name < p.Domains[j].Name })
			if h.Domains != nil && reflect.DeepEqual(h.Domains, p.Domains) {
				return changed
			}
			h.Domains = p.Domains
			changed = true
		}
	case PartSecrets:
		if p.Err == nil {
			sort.Slice(p.Secrets, func(i, j int) bool { return p.Secrets[i].UUID < p.Secrets[j].UUID })
			if h.Secrets != nil && h.SecretsKnown == !p.NoSecretAPI && sameSecrets(h.Secrets, p.Secrets) {
				return changed
			}
			h.Secrets, h.SecretsKnown = p.Secrets, !p.NoSecretAPI
			changed = true
		}
	}
	return changed
}

func (h *HostInfo) pool(name string) *PoolInfo {
	for i := range h.Pools {
		if h.Pools[i].Name == name {
			return &h.Pools[i]
		}
	}
	return nil
}

type volRef struct{ pool, vol int }

// volName is a volume's pool/name without joining them: Link indexes
// every volume of a host each time a part changes it.
type volName struct{ pool, name string }

// Link derives what needs several parts at once: attached_to per volume,
// each encrypted volume's secret state, and orphaned secrets. Pure.
func (h *HostInfo) Link() {
	// Only the volumes something looks up are indexed: the paths and
	// names VM disks point at and the paths volume secrets are for, a
	// handful, rather than every volume of a 10,000-volume pool each time
	// a part changes the host.
	wantPath, wantName := map[string]bool{}, map[volName]bool{}
	for _, d := range h.Domains {
		for _, k := range d.Disks {
			if isName, path, name := diskTarget(k); isName {
				wantName[name] = true
			} else {
				wantPath[path] = true
			}
		}
	}
	for _, s := range h.Secrets {
		if s.UsageType == "volume" && s.UsageID != "" {
			wantPath[s.UsageID] = true
		}
	}
	byPath := map[string]volRef{}
	byName := map[volName]volRef{}
	for pi := range h.Pools {
		for vi := range h.Pools[pi].Volumes {
			v := &h.Pools[pi].Volumes[vi]
			v.AttachedTo = v.AttachedTo[:0]
			v.DiskEncryption = nil
			if v.Path != "" && wantPath[v.Path] {
				byPath[v.Path] = volRef{pi, vi}
			}
			if n := (volName{h.Pools[pi].Name, v.Name}); wantName[n] {
				byName[n] = volRef{pi, vi}
			}
		}
	}
	for _, d := range h.Domains {
		for _, k := range d.Disks {
			r, ok := volRef{}, false
			if isName, path, name := diskTarget(k); isName {
				r, ok = byName[name]
			} else {
				r, ok = byPath[path]
			}
			if !ok {
				continue
			}
			v := &h.Pools[r.pool].Volumes[r.vol]
			v.AttachedTo = append(v.AttachedTo, Attachment{VM: d.Name, Target: k.Target})
			if v.Encryption == nil && k.Encryption != nil {
				e := *k.Encryption
				v.DiskEncryption = &e
			}
		}
	}
	secrets := map[string]*SecretInfo{}
	byUsage := map[string]*SecretInfo{}
	for i := range h.Secrets {
		secrets[h.Secrets[i].UUID] = &h.Secrets[i]
		if h.Secrets[i].UsageType == "volume" {
			byUsage[h.Secrets[i].UsageID] = &h.Secrets[i]
		}
	}
	// librbd LUKS lives inside the image: the pool cannot see it. An rbd
	// volume with a volume secret of its name (cephpool/image, as stowage
	// defines them) is encrypted by librbd even while no VM uses it. The
	// header's version (LUKS1 or 2) needs Ceph access to read, so the
	// label says luks.
	for pi := range h.Pools {
		if h.Pools[pi].Type != PoolRBD {
			continue
		}
		for vi := range h.Pools[pi].Volumes {
			v := &h.Pools[pi].Volumes[vi]
			if v.Encryption != nil || v.DiskEncryption != nil || v.Path == "" {
				continue
			}
			if s, ok := byUsage[v.Path]; ok {
				v.DiskEncryption = &Encryption{Format: "luks", Engine: "librbd", SecretUUID: s.UUID}
			}
		}
	}
	for pi := range h.Pools {
		for vi := range h.Pools[pi].Volumes {
			v := &h.Pools[pi].Volumes[vi]
			v.SecretState = SecretNotNeeded
			e := v.Encryption
			if e == nil {
				e = v.DiskEncryption
			}
			if e == nil || e.SecretUUID == "" || h.Secrets == nil {
				continue
			}
			if !h.SecretsKnown {
				v.SecretState = SecretUnknown
				continue
			}
			s, ok := secrets[e.SecretUUID]
			switch {
			case !ok:
				v.SecretState = SecretMissing
			case s.Value == ValueSet:
				v.SecretState = SecretPresent
			case s.Value == ValueUnset:
				v.SecretState = SecretNoValue
			default:
				v.SecretState = SecretPrivate
			}
		}
	}
	h.markOrphans(byPath)
}

// diskTarget is what a disk points at: a pool's volume by name (isName),
// else a volume's path (rbd:cephpool/image is the rbd volume whose path is
// cephpool/image).
func diskTarget(k Disk) (isName bool, path string, name volName) {
	switch k.SourceType {
	case "volume":
		pool, vol := k.Pool, k.Volume
		if pool == "" && vol == "" {
			pool, vol, _ = strings.Cut(k.Source, "/")
		}
		return true, "", volName{pool, vol}
	case "network":
		_, p, _ := strings.Cut(k.Source, ":")
		return false, p, volName{}
	}
	return false, k.Source, volName{}
}

// markOrphans flags volume secrets whose volume is gone. Only judged when
// every pool's volumes were read and no pool is inactive under the
// secret's path (an inactive pool's volumes are unknown, not gone). Ceph
// and iSCSI secrets are not judged: domains may reference them directly.
func (h *HostInfo) markOrphans(byPath map[string]volRef) {
	for i := range h.Secrets {
		h.Secrets[i].Orphan = ""
	}
	for _, p := range h.Pools {
		if p.Active && !p.VolumesLoaded {
			return
		}
	}
	for i := range h.Secrets {
		s := &h.Secrets[i]
		if s.UsageType != "volume" || s.UsageID == "" {
			continue
		}
		if _, ok := byPath[s.UsageID]; ok {
			continue
		}
		unknown := false
		for _, p := range h.Pools {
			if !p.Active && p.TargetPath != "" && strings.HasPrefix(s.UsageID, p.TargetPath) {
				unknown = true
			}
		}
		if !unknown {
			s.Orphan = "volume " + s.UsageID + " is gone"
		}
	}
}

// MissingSecrets lists encrypted volumes whose secret is gone, as
// "pool/volume (secret UUID)".
func (h *HostInfo) MissingSecrets() []string {
	var out []string
	for _, p := range h.Pools {
		for _, v := range p.Volumes {
			if v.SecretState == SecretMissing {
				uuid := ""
				if v.Encryption != nil {
					uuid = v.Encryption.SecretUUID
				} else if v.DiskEncryption != nil {
					uuid = v.DiskEncryption.SecretUUID
				}
				out = append(out, fmt.Sprintf("%s/%s (secret %s)", p.Name, v.Name, uuid))
			}
		}
	}
	return out
}
