// Package drive runs the encrypted-drive workflows: create (secret,
// volume or RBD image, LUKS format, attach, verify), attach, detach and
// delete. Each workflow is a plan of steps (model.Step); progress goes out
// as Events on a channel, a failure or a cancel undoes the finished steps
// in reverse order, and every mutation is appended to the JSON-lines audit
// log.
//
// It talks to libvirt and Ceph only through the Libvirt and Ceph
// interfaces, in model types (libvirtx.Conn and ceph.Client satisfy them;
// unit tests use fakes). It imports model and plan, and libvirtx in one
// adapter file (libvirtx.go); never ceph, ui, themes, bubbletea or
// lipgloss.
//
// Passphrases: generated from Deps.Rand (crypto/rand), held in one byte
// slice that is zeroed when the workflow ends, and handed only to libvirt's
// SecretSetValue and librbd's format call: never to a log, an event, an
// error, the audit log or a command line.
package drive
