package model

// What libvirt's storage backends can do to an existing pool, beyond
// start and stop (package pool refuses by these; the pools view offers
// its keys by them, so a key is offered only where the action can run).

// PoolDeleteUnsupported says why libvirt cannot delete the storage of a
// pool of type t (its backend has no deletePool), or "" when it can.
func PoolDeleteUnsupported(t PoolType) string {
	switch t {
	case PoolRBD:
		return "libvirt cannot delete an rbd pool's storage (the Ceph pool belongs to the cluster; remove it with ceph osd pool delete if you mean it): undefine the pool instead"
	case PoolISCSI, PoolISCSIDirect, PoolSCSI, PoolMpath:
		return "libvirt has no delete for " + string(t) + " pools (the LUNs belong to the SAN): undefine the pool instead"
	}
	return ""
}

// PoolBuildUnsupported says why libvirt has nothing to build for a pool
// of type t, or "" when it builds one.
func PoolBuildUnsupported(t PoolType) string {
	switch t {
	case PoolRBD:
		return "an rbd pool has nothing to build: its Ceph pool exists in the cluster"
	case PoolISCSI, PoolISCSIDirect, PoolSCSI, PoolMpath:
		return "libvirt has nothing to build for " + string(t) + " pools: the LUNs come from the SAN"
	}
	return ""
}
