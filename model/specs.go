package model

// PoolSpec is a first pool the console offers to create: a dir pool on a
// path, or an rbd pool on a Ceph cluster. It never holds the cephx key.
type PoolSpec struct {
	Name string
	Type string // dir or rbd
	// Path is the dir pool's directory (created by pool-build).
	Path string
	// Monitors ("host[:port]"), CephPool and CephUser describe an rbd pool;
	// the cephx key is passed separately (raw bytes) and stored as a
	// private libvirt secret.
	Monitors []string
	CephPool string
	CephUser string
}

// SecretUsage is the usage name of the rbd pool's cephx secret.
func (s PoolSpec) SecretUsage() string { return "stowage " + s.Name }

// DomainEvent is one lifecycle event (started, stopped, defined…) of a
// domain; the console refreshes its VMs on any of them.
type DomainEvent struct {
	Domain string
	Event  int32
}
