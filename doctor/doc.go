// Package doctor answers the questions that page an on-call admin: why a
// VM will not start, why a drive will not attach, why a pool is filling.
// It turns what stowage reads of a host (model.HostInfo) and of its Ceph
// clusters into model.Findings, each with its severity, the object that
// is wrong, one sentence of what it costs, the evidence (the call made
// and its answer) and the fix: a stowage action where one exists, else
// the exact command.
//
// The checks over a host's inventory are pure (Libvirt); probes that
// need more calls go through small interfaces the caller implements, so
// unit tests use fakes and lab tests the real host.
//
// It imports model only; never libvirtx, ceph, ui, themes, bubbletea or
// lipgloss.
package doctor
