package model

// CephCluster is what the Ceph view shows of one cluster: its health, its
// capacity and its pools. Sizes are bytes; ratios are fractions (0.85).
type CephCluster struct {
	FSID   string     `json:"fsid"`
	Health CephHealth `json:"health"`
	// Raw capacity over every OSD (`ceph df`: stats).
	TotalBytes uint64 `json:"total_bytes"`
	UsedBytes  uint64 `json:"used_bytes"`
	AvailBytes uint64 `json:"avail_bytes"`
	// The OSD map's ratios: an OSD past NearfullRatio warns, past
	// FullRatio refuses writes to every pool on it.
	NearfullRatio float64    `json:"nearfull_ratio"`
	FullRatio     float64    `json:"full_ratio"`
	Pools         []CephPool `json:"pools"`
}

// CephHealth is `ceph health detail`: the overall status and one entry per
// failing check.
type CephHealth struct {
	Status string            `json:"status"` // HEALTH_OK, HEALTH_WARN, HEALTH_ERR
	Checks []CephHealthCheck `json:"checks,omitempty"`
}

// CephHealthCheck is one health check that is not OK (OSD_NEARFULL, …).
type CephHealthCheck struct {
	Code     string   `json:"code"`
	Severity string   `json:"severity"` // HEALTH_WARN or HEALTH_ERR
	Summary  string   `json:"summary"`
	Detail   []string `json:"detail,omitempty"`
	Muted    bool     `json:"muted,omitempty"`
}

// CephPool is one pool as `ceph df` and the OSD map describe it.
type CephPool struct {
	Name string `json:"name"`
	ID   int64  `json:"id"`
	// StoredBytes is what clients wrote; UsedBytes counts the replicas.
	StoredBytes uint64 `json:"stored_bytes"`
	UsedBytes   uint64 `json:"used_bytes"`
	// MaxAvailBytes is what clients can still write before the fullest
	// OSD under the pool's rule reaches the full ratio.
	MaxAvailBytes uint64 `json:"max_avail_bytes"`
	// PercentUsed is Ceph's own figure, a fraction of used/(used+max_avail).
	PercentUsed float64 `json:"percent_used"`
	Objects     uint64  `json:"objects"`
	// Quotas; zero when none is set.
	QuotaMaxBytes   uint64   `json:"quota_max_bytes,omitempty"`
	QuotaMaxObjects uint64   `json:"quota_max_objects,omitempty"`
	Applications    []string `json:"applications,omitempty"`
}

// RBDImage is one RBD image as the Ceph view shows it.
type RBDImage struct {
	Pool string `json:"pool"`
	Name string `json:"name"`
	ID   string `json:"id"`
	Size uint64 `json:"size"`
	// Used is the allocated bytes and UsedMethod how they were counted
	// ("diff-iterate whole-object": objects that exist, like `rbd du`
	// without fast-diff; an upper bound at object granularity).
	Used       uint64 `json:"used"`
	UsedMethod string `json:"used_method"`
	// Encryption is read from the image's first bytes: "luks1", "luks2"
	// or "none" ("unknown" when they could not be read).
	Encryption string        `json:"encryption"`
	Features   []string      `json:"features"`
	Watchers   []RBDWatcher  `json:"watchers"`
	Lockers    []RBDLocker   `json:"lockers"`
	Snapshots  []RBDSnapshot `json:"snapshots,omitempty"`
	// Parent is "pool/image@snap" for a clone, empty otherwise.
	Parent string `json:"parent,omitempty"`
	// Errors are the parts that could not be read; the rest is shown.
	Errors []string `json:"errors,omitempty"`
}

// RBDWatcher is a client watching an image's header: a client that has
// the image open (a running VM, rbd-nbd, a stowage connection).
type RBDWatcher struct {
	// Address is the client's messenger address ("127.0.0.1:0/3295272755");
	// Host its IP, which is what ties it to a hypervisor.
	Address string `json:"address"`
	Host    string `json:"host"`
	Client  int64  `json:"client"` // the N of client.N
	Cookie  uint64 `json:"cookie"`
}

// RBDLocker is a holder of an RBD lock (advisory `rbd lock add`, or the
// exclusive-lock feature's managed lock).
type RBDLocker struct {
	Client    string `json:"client"` // "client.4123"
	Cookie    string `json:"cookie"`
	Address   string `json:"address"`
	Host      string `json:"host"`
	Exclusive bool   `json:"exclusive"`
}

// RBDSnapshot is one snapshot of an image.
type RBDSnapshot struct {
	ID   uint64 `json:"id"`
	Name string `json:"name"`
	Size uint64 `json:"size"`
}

// CephBlocklistEntry is a client the OSDs refuse until Until.
type CephBlocklistEntry struct {
	Address string `json:"address"`
	Host    string `json:"host"`
	Until   string `json:"until"`
}

// CephUserCaps is a cephx user's capabilities (never its key).
type CephUserCaps struct {
	Entity string `json:"entity"` // "client.libvirt"
	Mon    string `json:"mon"`
	OSD    string `json:"osd"`
	MGR    string `json:"mgr,omitempty"`
}

// CephView is one Ceph cluster as a host's rbd pools reach it: the
// cluster's facts, the images of the Ceph pools those libvirt pools hold,
// and the libvirt side of each image. `stowage inventory --ceph` prints
// it; the console's Ceph view draws it.
type CephView struct {
	// Host is the libvirt host whose rbd pools point at the cluster;
	// User the cephx user stowage read it as.
	Host    string      `json:"host"`
	User    string      `json:"user"`
	Cluster CephCluster `json:"cluster"`
	Images  []CephImage `json:"images"`
	// Errors are the parts that could not be read; the rest is shown.
	Errors []string `json:"errors,omitempty"`
}

// CephImage is an RBD image with the libvirt pool it is a volume of and
// the VMs whose disks use it.
type CephImage struct {
	RBDImage
	LibvirtPool string   `json:"libvirt_pool,omitempty"`
	VMs         []string `json:"vms"`
}

// LinkCeph ties images to the libvirt side of host h: the rbd pool whose
// Ceph pool holds each image, and the VMs with a disk on it. Pure.
func LinkCeph(h HostInfo, images []RBDImage) []CephImage {
	out := make([]CephImage, 0, len(images))
	for _, img := range images {
		ci := CephImage{RBDImage: img, VMs: []string{}}
		for _, p := range h.Pools {
			if p.Type != PoolRBD || p.SourceName != img.Pool {
				continue
			}
			ci.LibvirtPool = p.Name
		}
		spec := img.Pool + "/" + img.Name
		for _, d := range h.Domains {
			for _, k := range d.Disks {
				if k.SourceType == "network" && k.Source == "rbd:"+spec {
					ci.VMs = append(ci.VMs, d.Name)
					break
				}
			}
		}
		out = append(out, ci)
	}
	return out
}
