// Package benchenc measures what encryption costs on a storage pool:
// `stowage bench encryption`. It makes scratch images side by side (plain,
// QEMU-layer LUKS and, on rbd pools, librbd LUKS2), drives the same
// workloads through QEMU's block layer on each, and removes the images
// again, on success, failure or cancel alike.
//
// How it measures, and why:
//   - QEMU 7.2's `qemu-img bench` takes --image-opts but no --object, so it
//     cannot open an encrypted image itself. A qemu-storage-daemon opens
//     the image (the secrets come in as --object secret,file=/dev/fd/N,
//     never on argv) and exports it over NBD on a unix socket in a private
//     directory; `qemu-img bench` drives that export. Plain images go the
//     same way, so every format pays the same NBD hop.
//   - The one-time unlock (PBKDF) happens when the daemon opens the image,
//     before the export is up, so it is outside every throughput figure.
//     The daemon's start-to-ready time is reported as the open time, and
//     unlock = open(format) − open(plain).
//   - qemu-img bench times only its I/O loop ("Run completed in X
//     seconds"), so its own start and its NBD connect are outside too.
//
// It talks to processes through Exec and to the pool through Storage (rbd:
// go-ceph through ceph.Client; dir: files), so unit tests run with fakes.
// Every create and delete goes through plan.Runner, so it is audited and a
// failed delete names the command that removes what is left.
//
// It imports model, plan, ceph, drive (the passphrase) and libvirtx (the
// classification of QEMU's LUKS benchmark failure); never ui, themes,
// bubbletea or lipgloss.
package benchenc
