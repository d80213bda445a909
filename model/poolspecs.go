package model

// Pools the LVM-on-iSCSI setup defines, as plain specs (libvirtx renders
// and parses their XML), and what it does to pools by identity.

// ISCSIPoolSpec is an iscsi pool: libvirt logs the host in to Target
// through Host:Port when the pool starts.
type ISCSIPoolSpec struct {
	Name   string
	Host   string
	Port   int
	Target string
	// Initiator overrides the host's own initiator IQN; empty uses it.
	Initiator string
	// CHAPUser and CHAPUsage name the CHAP user and the usage id of the
	// libvirt iscsi secret holding its secret; empty for no CHAP.
	CHAPUser, CHAPUsage string
}

// ByPathDir is where udev puts stable names of SCSI disks; an iscsi pool
// lists its LUNs there, so the logical pool's devices survive reboots.
const ByPathDir = "/dev/disk/by-path"

// LogicalPoolSpec is a logical (LVM) pool over a VG on the given devices.
type LogicalPoolSpec struct {
	// UUID is set to redefine an existing pool (libvirt refuses a second
	// definition of a name under another UUID).
	UUID    string
	Name    string
	VG      string
	Devices []string
}

// PoolSource is the <source> of an existing pool, for matching a pool the
// admin asks for against one the host already has.
type PoolSource struct {
	UUID      string
	Type      PoolType
	Hosts     []string // host:port
	Devices   []string // iscsi: the target IQN; logical: device paths
	Name      string   // logical: the VG
	AuthUser  string
	AuthUsage string
}

// PoolAct is what a pool action by identity does to a pool.
type PoolAct int

// The pool actions.
const (
	PoolActStop PoolAct = iota
	PoolActUndefine
	PoolActAutostartOff
	PoolActDeleteData
	PoolActStart
	PoolActBuild          // pool-build --no-overwrite
	PoolActBuildOverwrite // pool-build --overwrite
	PoolActAutostartOn
)

var poolActVerbs = map[PoolAct]string{PoolActStop: "stop", PoolActUndefine: "undefine",
	PoolActAutostartOff: "turn autostart off for", PoolActDeleteData: "delete the data of",
	PoolActStart: "start", PoolActBuild: "build", PoolActBuildOverwrite: "build (overwrite)",
	PoolActAutostartOn: "turn autostart on for"}

// Verb is the act as a message says it ("delete the data of" pool x).
func (a PoolAct) Verb() string { return poolActVerbs[a] }
