package model

import "errors"

// Sentinel errors that backends wrap, so that callers decide with
// errors.Is without knowing which backend answered (libvirtx marks
// libvirt's own errors with them; fakes in unit tests return them).
var (
	// ErrNotFound marks a lookup of a pool, volume, domain or secret the
	// host does not have.
	ErrNotFound = errors.New("not found")
	// ErrNotTheSame is returned (wrapped, with the reason) when the object
	// in a name's place is not the one the caller identified: stowage then
	// leaves it alone. plan's callers map it to plan.ErrNotOurs.
	ErrNotTheSame = errors.New("not the object identified")
	// ErrTimeout marks a call the host did not answer in time (libvirtx's
	// ErrTimeout wraps it); its outcome is unknown.
	ErrTimeout = errors.New("did not answer in time")
)
