// Package libvirtx owns every conversation with libvirt: dialing a host
// (unix socket, TCP, TLS, SSH), calls with timeouts, and the translation
// between libvirt's XML (always through libvirt.org/go/libvirtxml) and
// model types: callers pass model specs (volumes, disks, pools) and get
// model types back, never XML to send. libvirt's "no such object" errors
// match model.ErrNotFound, and ErrTimeout matches model.ErrTimeout.
//
// It imports model and nothing of the UI: not ui, themes, bubbletea or
// lipgloss. go-libvirt has no timeouts of its own, so every call goes
// through Conn.do, which closes the connection when a call outlives its
// deadline (the only way to make go-libvirt's pending calls return).
package libvirtx
