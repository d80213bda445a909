package model

import "fmt"

// PoolType is a libvirt storage pool type, as in <pool type='…'>.
type PoolType string

// The pool types libvirt knows.
const (
	PoolDir         PoolType = "dir"
	PoolFS          PoolType = "fs"
	PoolNetFS       PoolType = "netfs"
	PoolLogical     PoolType = "logical"
	PoolDisk        PoolType = "disk"
	PoolISCSI       PoolType = "iscsi"
	PoolISCSIDirect PoolType = "iscsi-direct"
	PoolSCSI        PoolType = "scsi"
	PoolMpath       PoolType = "mpath"
	PoolRBD         PoolType = "rbd"
	PoolSheepdog    PoolType = "sheepdog"
	PoolGluster     PoolType = "gluster"
	PoolZFS         PoolType = "zfs"
	PoolVstorage    PoolType = "vstorage"
)

// EncryptionKind is a way stowage can encrypt a drive in a pool.
type EncryptionKind string

// Encryption kinds: QEMU-layer LUKS (libvirt formats the volume) and
// librbd-native LUKS1/LUKS2 (stowage formats the image through librbd).
const (
	EncQEMULUKS    EncryptionKind = "luks (qemu)"
	EncLibrbdLUKS1 EncryptionKind = "luks (librbd)"
	EncLibrbdLUKS2 EncryptionKind = "luks2 (librbd)"
)

// backendFacts is what libvirt's storage backend for a pool type can do,
// checked against libvirt's source (storage_backend_*.c: which backends
// implement createVol). It is not what the host has compiled in: see
// CreateAbility, which combines both.
type backendFacts struct {
	createsVolumes bool
	// why is the admin-facing reason when createsVolumes is false.
	why        string
	encryption []EncryptionKind
}

var backends = map[PoolType]backendFacts{
	PoolDir:      {createsVolumes: true, encryption: []EncryptionKind{EncQEMULUKS}},
	PoolFS:       {createsVolumes: true, encryption: []EncryptionKind{EncQEMULUKS}},
	PoolNetFS:    {createsVolumes: true, encryption: []EncryptionKind{EncQEMULUKS}},
	PoolLogical:  {createsVolumes: true, encryption: []EncryptionKind{EncQEMULUKS}},
	PoolDisk:     {createsVolumes: true, encryption: []EncryptionKind{EncQEMULUKS}},
	PoolRBD:      {createsVolumes: true, encryption: []EncryptionKind{EncLibrbdLUKS1, EncLibrbdLUKS2}},
	PoolZFS:      {createsVolumes: true},
	PoolVstorage: {createsVolumes: true},
	PoolISCSI: {why: "iSCSI pools only expose the LUNs that exist on the target; " +
		"layer LVM on the LUNs with the LVM-on-iSCSI wizard, or create LUNs on the target"},
	PoolISCSIDirect: {why: "iSCSI pools only expose the LUNs that exist on the target; " +
		"layer LVM on the LUNs with the LVM-on-iSCSI wizard, or create LUNs on the target"},
	PoolSCSI: {why: "SCSI pools only expose the host adapter's existing LUNs; " +
		"create LUNs on the storage array, or layer LVM on them (logical pool)"},
	PoolMpath: {why: "multipath pools only expose existing multipath devices; " +
		"create LUNs on the array, or layer LVM on them (logical pool)"},
	PoolGluster: {why: "libvirt's gluster backend cannot create volumes; " +
		"mount the volume and use a netfs or dir pool instead"},
	PoolSheepdog: {why: "libvirt removed the sheepdog backend in 8.8"},
}

// CreateAbility says whether drives can be created in a pool of type t on
// a host. backendPresent is the host's own answer (pool capabilities:
// supported='yes'); pass true when the host cannot tell (the test driver).
func CreateAbility(t PoolType, backendPresent bool) (bool, string) {
	facts, known := backends[t]
	switch {
	case !known:
		return false, fmt.Sprintf("unknown pool type %q", t)
	case !backendPresent:
		return false, fmt.Sprintf("this host's libvirt has no %s storage backend "+
			"(install its libvirt-daemon-driver-storage package)", t)
	case !facts.createsVolumes:
		return false, facts.why
	}
	return true, "libvirt creates volumes in " + string(t) + " pools"
}

// EncryptionKinds lists how drives in a pool of type t can be encrypted;
// empty when stowage cannot encrypt there.
func EncryptionKinds(t PoolType) []EncryptionKind {
	return backends[t].encryption
}

// SharedStorage reports whether a pool type's volumes can be seen by more
// than one host at once (network storage, or LVM on a SAN LUN): a volume
// there may be in use by a VM on another host, so its delete checks every
// connected host. dir, fs and disk pools are taken as local (a dir pool on
// an NFS mount is not told apart: use a netfs pool for shared files).
func SharedStorage(t PoolType) bool {
	switch t {
	case PoolNetFS, PoolRBD, PoolGluster, PoolISCSI, PoolISCSIDirect, PoolSCSI, PoolMpath, PoolLogical, PoolSheepdog, PoolVstorage:
		return true
	}
	return false
}
