package model

// ISCSITarget is a target found by sendtargets discovery on a host.
type ISCSITarget struct {
	// IQN is the target's name; Portal the host:port it was found through.
	IQN    string `json:"iqn"`
	Portal string `json:"portal"`
}

// VolumeGroup is an LVM volume group a host can see, with the devices
// holding its physical volumes (as LVM names them, e.g. /dev/sdb).
type VolumeGroup struct {
	Name    string   `json:"name"`
	Devices []string `json:"devices"`
}

// LUN is a logical unit of an iSCSI target as a host's iscsi pool shows
// it. Content says what libvirt found on it: "" (nothing it recognises),
// "lvm2" (a physical volume), or a partition-table type (dos, gpt, …).
type LUN struct {
	Number   int    `json:"lun"`
	Volume   string `json:"volume"`
	Path     string `json:"path"`
	Capacity uint64 `json:"capacity"`
	Content  string `json:"content,omitempty"`
	// VG names the volume group whose PV this LUN is, when there is one.
	VG string `json:"vg,omitempty"`
	// Pool names the libvirt logical pool that uses the LUN, if any.
	Pool string `json:"pool,omitempty"`
}

// InUse reports whether the LUN holds data that building a VG would destroy.
func (l LUN) InUse() bool { return l.Content != "" || l.VG != "" }
