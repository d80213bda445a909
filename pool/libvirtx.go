package pool

import "stowage/libvirtx"

// The one file of pool that names libvirtx: *libvirtx.Conn is the
// production Libvirt.
var _ Libvirt = (*libvirtx.Conn)(nil)
