// Package plan runs every mutation stowage makes: a plan is a list of
// actions; each does its work and returns what it made (its identity, an
// undo that removes exactly that object, and the command that removes it
// by hand). On a failure or a cancel the runner undoes what this run made,
// in reverse, and names what is left. Progress goes out as Events on a
// channel; every mutation, retry, undo and refusal is appended to the
// JSON-lines audit log with the local user who acted.
//
// Drive workflows (package drive), LVM on iSCSI (package iscsi), the first
// pool and host-key trust all run through Runner, so that one set of rules
// holds everywhere:
//   - an undo removes only the object whose identity (volume key, secret
//     UUID, pool UUID, image id) its step recorded, and checks it first;
//   - "already exists" is never undone: a step that failed made nothing;
//   - a failed audit write is an Event the screen shows, not only a log line.
//
// It imports model only; never libvirtx, ceph, ui, themes, bubbletea or
// lipgloss. Passphrases and keys never reach it: actions hold them.
package plan
