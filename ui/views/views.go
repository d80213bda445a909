// Package views is the registry from resource kind to view: the palette,
// the number keys and the drill-down all open kinds by name through it
// (the libvirt kinds, and the Ceph view's four).
package views

import (
	"stowage/ui/views/ceph"
	"stowage/ui/views/hosts"
	"stowage/ui/views/kind"
	"stowage/ui/views/pools"
	"stowage/ui/views/secrets"
	"stowage/ui/views/vms"
	"stowage/ui/views/volumes"
)

// Registry maps each kind's name to its view.
func Registry() map[string]kind.Kind {
	out := map[string]kind.Kind{}
	for _, k := range []kind.Kind{hosts.Kind{}, pools.Kind{}, volumes.Kind{}, vms.Kind{}, secrets.Kind{}} {
		out[k.Name()] = k
	}
	for _, k := range ceph.Kinds() {
		out[k.Name()] = k
	}
	return out
}
