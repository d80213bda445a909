// Package pool runs the actions on an existing storage pool: start, stop,
// refresh (pool-refresh), autostart on and off, build (optionally with
// overwrite), delete (the backend's own pool-delete: a dir pool's rmdir, a
// logical pool's vgremove and pvremove) and undefine. Each action is
// prepared (the pool read, its identity recorded, the rules checked), then
// run through plan.Runner: steps with progress events, rollback by
// recorded identity, every mutation and every refusal in the audit log.
//
// Decisions (README "Pools: the whole life" says the same to admins):
//   - Identity: an action acts only on the pool UUID read when it was
//     prepared (the console's confirmation shows it). Run re-reads the pool
//     by name first and refuses, touching nothing, when another admin
//     undefined it or defined another pool under its name; every libvirt
//     call then looks the pool up by that UUID (libvirtx's …If calls).
//   - Users: a VM "uses" a pool when one of its disks lies in it
//     (model.PoolUsers: by pool name, target path or Ceph pool), in its
//     live or its persistent definition. Hosts checked: this one and, for
//     shared storage (model.SharedStorage: rbd, logical, iscsi, netfs…),
//     every connected host; a peer that cannot be reached refuses the
//     action (a user there cannot be ruled out). A dir pool's path on
//     another host is another directory, so local types check this host.
//   - stop is refused while a running (or paused) VM has a disk of the
//     pool in its live definition: the disk would vanish under it. VMs
//     that use the pool only from their next start (shut off, or a disk
//     in the persistent definition alone) are listed as a warning:
//     stopping a pool is how an admin prepares maintenance, and those VMs
//     fail to start until it runs again (the warning says so).
//   - delete and undefine are refused while any VM, running or not, uses
//     the pool: a later VM start would fail on a disk that is gone (delete)
//     or on a pool name that is gone (undefine, <source pool=…> disks).
//   - delete is refused while the pool holds volumes (up to five are
//     named; "delete the drives first"): libvirt's logical delete runs
//     vgremove -f, which would destroy LVs stowage did not create. An
//     inactive pool cannot be listed, so delete starts it to look inside
//     (a step of the plan, undone if anything later fails), then stops it
//     and deletes. Pool types whose libvirt backend has no delete (rbd,
//     iscsi, iscsi-direct, scsi, mpath) are refused with why: rbd's storage
//     is a Ceph pool libvirt cannot remove (undefine it instead); an iSCSI
//     LUN belongs to the SAN.
//   - undefine of a running pool stops it first, as a step of its plan
//     (under the stop rules and the confirmation the admin typed); a
//     failed undefine restarts it. The storage itself stays.
//   - build: libvirt builds only a stopped pool, so a running one is
//     refused with the stop command; types with nothing to build (rbd,
//     iscsi, …) are refused with why. Overwrite (pvcreate -ff, mkfs, a
//     new partition label) destroys what the devices hold.
//   - Dangerous (typed confirmation of the pool's name, CLI --confirm
//     NAME): stop, delete, undefine and build with overwrite.
//   - "Already": start of a running pool, stop of a stopped one, autostart
//     already in the asked state change nothing and succeed (exit 0,
//     "changed": false): a script that wants a pool running converges,
//     as with systemctl start. The no-op is audited like any action.
//   - refresh of a stopped pool is refused (libvirt cannot list it).
//   - Deps.ReadOnly refuses every action (audited).
//
// It talks to libvirt only through the Libvirt interface, in model types
// (*libvirtx.Conn has it, libvirtx.go; unit tests use fakes). It imports
// model and plan, and libvirtx in that one adapter file; never ceph,
// iscsi, drive, ui, themes, bubbletea or lipgloss.
package pool
