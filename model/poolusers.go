package model

import "strings"

// PoolUser is one VM disk whose source lies in a pool.
type PoolUser struct {
	VM   Domain
	Disk Disk
}

// DiskInPool reports whether a disk's source lies in pool p, by the
// pool's name (<source pool=…>), its target directory or VG path (file
// and block disks) or its Ceph pool (rbd network disks). It works on an
// inactive pool too: that is when it matters most (the doctor), and it
// errs on the side of "in use" (an action that refuses while a VM uses a
// pool refuses for a disk under the pool's target path even when no
// volume of the pool lists it).
func DiskInPool(k Disk, p Pool) bool {
	switch k.SourceType {
	case "volume":
		return k.Pool == p.Name
	case "network":
		proto, name, _ := strings.Cut(k.Source, ":")
		cephPool, _, ok := strings.Cut(name, "/")
		return ok && proto == "rbd" && p.Type == PoolRBD && p.SourceName == cephPool
	case "file", "block":
		return p.TargetPath != "" && strings.HasPrefix(k.Source, strings.TrimSuffix(p.TargetPath, "/")+"/")
	}
	return false
}

// PoolUsers lists the VM disks (not CD-ROMs or floppies) of h whose
// source is in pool p, running VMs or not.
func PoolUsers(h HostInfo, p Pool) []PoolUser {
	var out []PoolUser
	for _, d := range h.Domains {
		for _, k := range d.Disks {
			if k.Device != "cdrom" && k.Device != "floppy" && DiskInPool(k, p) {
				out = append(out, PoolUser{VM: d, Disk: k})
			}
		}
	}
	return out
}
