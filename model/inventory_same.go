package model

import (
	"reflect"
	"slices"
	"sort"
)

// The comparisons below let Apply tell a part that changes the host from
// one that repeats it. They compare what parts carry, never what Link
// derives (attachments, secret states, orphans), which a repeated part
// leaves as it was.

// samePools compares two pool lists as Apply builds them (sorted by name).
func samePools(a, b []PoolInfo) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if !reflect.DeepEqual(x.Pool, y.Pool) || x.CanCreateVolumes != y.CanCreateVolumes ||
			x.CreateReason != y.CreateReason || !slices.Equal(x.Encryption, y.Encryption) {
			return false
		}
	}
	return true
}

// sameNames reports whether names (distinct, in libvirt's order) are
// exactly the names of vols (sorted by name), without allocating: a
// 10,000-volume pool is polled every few seconds.
func sameNames(vols []VolumeInfo, names []string) bool {
	if len(vols) != len(names) {
		return false
	}
	for _, n := range names {
		i := sort.Search(len(vols), func(i int) bool { return vols[i].Name >= n })
		if i == len(vols) || vols[i].Name != n {
			return false
		}
	}
	return true
}

// sameVolumes reports whether every volume of b is loaded in a with the
// same details; both are sorted by name.
func sameVolumes(a, b []VolumeInfo) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Loaded || !sameVolume(a[i].Volume, b[i].Volume) {
			return false
		}
	}
	return true
}

func sameVolume(a, b Volume) bool {
	ea, eb := a.Encryption, b.Encryption
	a.Encryption, b.Encryption = nil, nil
	return a == b && (ea == eb || (ea != nil && eb != nil && *ea == *eb))
}

// sameSecrets compares what a secrets part carries (Link sets Orphan).
func sameSecrets(a, b []SecretInfo) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Secret != b[i].Secret || a[i].Value != b[i].Value {
			return false
		}
	}
	return true
}
