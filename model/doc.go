// Package model holds stowage's plain domain types (hosts, pools, volumes,
// domains, secrets) and the pure logic over them: what each libvirt pool
// type can do, size parsing, drive specs and plans of steps.
//
// It does no I/O and must not import libvirtx, ceph, iscsi, ui, themes,
// bubbletea or lipgloss: every other package depends on it, never the
// reverse.
package model
