package model

// PoolCaps is the host's own answer to "which storage backends are compiled
// in" (virConnectGetStoragePoolCapabilities).
type PoolCaps struct {
	// Known is false when the host cannot tell (libvirt's test driver does
	// not implement the call): every backend is then treated as present,
	// and CreateReason says so.
	Known     bool
	Supported map[PoolType]bool
}

// CreateAbility combines the host's backends with what each backend can do
// (CreateAbility). When the host could not tell, the reason says the
// backend was assumed present.
func (pc PoolCaps) CreateAbility(t PoolType) (bool, string) {
	present := true
	if pc.Known {
		present = pc.Supported[t]
	}
	ok, why := CreateAbility(t, present)
	if !pc.Known {
		why += " (this host does not report pool capabilities; backend assumed present)"
	}
	return ok, why
}
