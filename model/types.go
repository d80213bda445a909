package model

// Pool is one libvirt storage pool as stowage shows it. Sizes are bytes.
type Pool struct {
	Name       string   `json:"name"`
	UUID       string   `json:"uuid"`
	Type       PoolType `json:"type"`
	Active     bool     `json:"active"`
	Persistent bool     `json:"persistent"`
	Autostart  bool     `json:"autostart"`
	Capacity   uint64   `json:"capacity"`
	Allocation uint64   `json:"allocation"`
	Available  uint64   `json:"available"`
	// TargetPath is the directory (dir, fs, netfs), VG device path
	// (logical) or empty (rbd, iscsi-direct) where volumes live.
	TargetPath string `json:"target_path,omitempty"`
	// SourceName is the VG name (logical) or Ceph pool name (rbd).
	SourceName string `json:"source_name,omitempty"`
	// SourceHosts are the monitors (rbd) or portals (iscsi) of the pool.
	SourceHosts []string `json:"source_hosts,omitempty"`
	// AuthUser and AuthSecretUUID are the pool's <auth> (rbd: the cephx
	// user; iscsi: the CHAP user).
	AuthUser       string `json:"auth_user,omitempty"`
	AuthSecretUUID string `json:"auth_secret_uuid,omitempty"`
}

// Volume is one storage volume (a file, LV, partition, RBD image or LUN).
type Volume struct {
	Name       string      `json:"name"`
	Pool       string      `json:"pool"`
	Key        string      `json:"key"`
	Path       string      `json:"path"`
	Type       string      `json:"type,omitempty"`
	Format     string      `json:"format,omitempty"`
	Capacity   uint64      `json:"capacity"`
	Allocation uint64      `json:"allocation"`
	Encryption *Encryption `json:"encryption"`
}

// Encryption describes how a volume or disk is encrypted.
type Encryption struct {
	// Format is luks, luks2 or luks-any (librbd only).
	Format string `json:"format"`
	// Engine is qemu (QEMU's block layer) or librbd; empty means the
	// libvirt default, which is qemu.
	Engine     string `json:"engine,omitempty"`
	SecretUUID string `json:"secret_uuid,omitempty"`
	Cipher     string `json:"cipher,omitempty"`
}

// Label is "luks (qemu)" or "luks2 (librbd)"; "-" when e is nil. A disk
// without an engine attribute gets libvirt's default, qemu.
func (e *Encryption) Label() string {
	if e == nil {
		return "-"
	}
	engine := e.Engine
	if engine == "" {
		engine = "qemu"
	}
	return e.Format + " (" + engine + ")"
}

// SecretState says whether the secret an encrypted volume needs exists.
type SecretState string

// Secret states; see Volume.Encryption.SecretUUID.
const (
	SecretPresent   SecretState = "present"
	SecretNoValue   SecretState = "present-without-value"
	SecretMissing   SecretState = "missing"
	SecretNotNeeded SecretState = ""
)

// Domain is a VM and its disks.
type Domain struct {
	Name  string `json:"name"`
	UUID  string `json:"uuid"`
	State string `json:"state"`
	// Persistent is false for transient domains (no config to attach to).
	Persistent bool   `json:"persistent"`
	Disks      []Disk `json:"disks"`
}

// Disk is one <disk> of a domain.
type Disk struct {
	// Target is the guest device name (vda, sdb…), Bus its bus (virtio…).
	Target string `json:"target"`
	Bus    string `json:"bus"`
	Device string `json:"device"`
	// SourceType is file, block, volume or network; Source the path,
	// pool/volume or protocol:name it points at.
	SourceType string      `json:"source_type"`
	Source     string      `json:"source"`
	Pool       string      `json:"pool,omitempty"`
	Volume     string      `json:"volume,omitempty"`
	Encryption *Encryption `json:"encryption"`
}

// Secret is a libvirt secret (never its value).
type Secret struct {
	UUID        string `json:"uuid"`
	UsageType   string `json:"usage_type"`
	UsageID     string `json:"usage_id"`
	Description string `json:"description,omitempty"`
	Private     bool   `json:"private"`
	Ephemeral   bool   `json:"ephemeral"`
}
