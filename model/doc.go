// Package model holds stowage's plain domain types (hosts, pools, volumes,
// domains, secrets) and the pure logic over them: what each libvirt pool
// type can do, size parsing, drive specs and plans of steps. It also holds
// what crosses the backends' interfaces: the specs they accept (volumes,
// disks, iscsi and logical pools), an unknown SSH host key, and the
// sentinel errors callers test (ErrNotFound, ErrNotTheSame, ErrTimeout).
//
// It does no I/O and must not import libvirtx, ceph, iscsi, ui, themes,
// bubbletea or lipgloss: every other package depends on it, never the
// reverse.
package model
