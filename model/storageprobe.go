package model

// MissingPV is how LVM (pvs, and so libvirt's logical pool-source
// listing) names the device of a physical volume it cannot find: the VG's
// metadata still lists the PV, but no device carries it.
const MissingPV = "[unknown]"

// ISCSIProbe is what `stowage doctor` learned of an active iscsi or
// iscsi-direct pool by reaching for its target, beyond the inventory
// (which holds only what libvirt listed at the pool's last refresh).
type ISCSIProbe struct {
	Pool   string   `json:"pool"`
	Type   PoolType `json:"type"`
	Portal string   `json:"portal"` // host:port
	Target string   `json:"target"` // the target's IQN
	// Call is the call made, with its arguments; Answer is libvirt's
	// answer. Together they are a finding's evidence.
	Call   string `json:"call"`
	Answer string `json:"answer"`
	// Lost: the host no longer reaches the target (iscsi-direct: the
	// refresh could not log in), or its LUNs' devices are gone (iscsi).
	Lost bool `json:"lost"`
	// Stopped: libvirt stopped the pool when its refresh failed (what
	// libvirt does to any pool whose refresh fails).
	Stopped bool `json:"stopped"`
	// GoneLUNs (iscsi) are the pool's LUN volumes whose block device the
	// host no longer has.
	GoneLUNs []string `json:"gone_luns,omitempty"`
	// NotProbed says why the target was not reached (a read-only
	// connection, a transient pool); Call and Answer then hold what could
	// be read instead.
	NotProbed string `json:"not_probed,omitempty"`
}

// VGProbe is the host's LVM volume groups with their physical volumes,
// as libvirt lists them, read for the logical pools' check.
type VGProbe struct {
	// Call is the call made; Err its error when it failed.
	Call string        `json:"call"`
	VGs  []VolumeGroup `json:"vgs"`
	Err  string        `json:"err,omitempty"`
	// NotProbed says why the call was not answered (a read-only
	// connection refuses it).
	NotProbed string `json:"not_probed,omitempty"`
}

// Missing counts the VG's physical volumes LVM cannot find.
func (v VolumeGroup) Missing() int {
	n := 0
	for _, d := range v.Devices {
		if d == MissingPV {
			n++
		}
	}
	return n
}
