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

	// The other types (stowage pool define, the define-pool form); see
	// pooldefine.go for which type reads which field.
	//
	// SourceHost and SourcePath are a netfs pool's NFS server and export.
	SourceHost, SourcePath string
	// Devices: fs, one block device; logical, the devices of a new VG;
	// disk, the one disk.
	Devices []string
	// VG is a logical pool's volume group (existing, or new on Devices).
	VG string
	// Format: fs, the filesystem; netfs, nfs or auto; disk, the label.
	Format string
	// Portal (host[:port]), IQN (the target) and Initiator for iscsi and
	// iscsi-direct; CHAPUser and CHAPUsage name the CHAP user and the
	// usage of the private iscsi secret that holds its secret.
	Portal, IQN, Initiator string
	CHAPUser, CHAPUsage    string
	// CephSecretUUID names an existing ceph secret for an rbd pool; empty
	// defines a new one from the cephx key.
	CephSecretUUID string
	// Build asks fs to make a filesystem and disk to write a label
	// (libvirt's --no-overwrite); Overwrite lets either destroy what is
	// there (typed confirmation). NoStart and Autostart shape the plan.
	Build, Overwrite, NoStart, Autostart bool
}

// SecretUsage is the usage name of the rbd pool's cephx secret.
func (s PoolSpec) SecretUsage() string { return "stowage " + s.Name }

// DomainEvent is one lifecycle event (started, stopped, defined…) of a
// domain; the console refreshes its VMs on any of them.
type DomainEvent struct {
	Domain string
	Event  int32
}
