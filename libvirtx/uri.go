package libvirtx

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Target is a parsed libvirt connection URI: how to reach libvirtd, and the
// name to open once there.
type Target struct {
	// Raw is the URI as the admin gave it.
	Raw string
	// Driver is qemu, test, …
	Driver string
	// Transport is unix, tcp, tls or ssh.
	Transport string
	Host      string
	Port      string
	User      string
	// Socket is the libvirtd socket path: local for unix, remote for ssh.
	Socket string
	// Open is the URI handed to ConnectOpen on the daemon: driver and path
	// only, without transport or client-side parameters.
	Open string
	// PKIPath is the directory of TLS certificates (?pkipath=).
	PKIPath string
	// Keyfile and KnownHosts are ssh's ?keyfile= and ?known_hosts=.
	Keyfile    string
	KnownHosts string
}

const (
	defaultSocket   = "/run/libvirt/libvirt-sock"
	defaultSocketRO = "/run/libvirt/libvirt-sock-ro"
)

// ParseURI checks a libvirt URI and says what is wrong with a bad one.
// readonly picks the read-only local socket.
func ParseURI(raw string, readonly bool) (Target, error) {
	hint := "expected e.g. qemu:///system, qemu+ssh://user@host/system, qemu+tls://host/system or test:///path/to/host.xml"
	if strings.TrimSpace(raw) == "" {
		return Target{}, fmt.Errorf("empty libvirt URI: %s", hint)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("libvirt URI %q: %v; %s", raw, err, hint)
	}
	if u.Scheme == "" {
		return Target{}, fmt.Errorf("libvirt URI %q has no scheme: %s", raw, hint)
	}
	t := Target{Raw: raw, Driver: u.Scheme, Transport: "unix"}
	if d, tr, ok := strings.Cut(u.Scheme, "+"); ok {
		t.Driver, t.Transport = d, tr
	}
	switch t.Transport {
	case "unix", "ssh", "tls", "tcp", "libssh", "libssh2":
	default:
		return Target{}, fmt.Errorf("libvirt URI %q: transport %q is not supported (use unix, ssh, tls or tcp)", raw, t.Transport)
	}
	if strings.HasPrefix(t.Transport, "libssh") {
		t.Transport = "ssh"
	}
	switch t.Driver {
	case "qemu", "test", "lxc", "xen", "ch":
	default:
		return Target{}, fmt.Errorf("libvirt URI %q: unknown driver %q; %s", raw, t.Driver, hint)
	}
	if t.Driver == "qemu" && u.Path != "/system" && u.Path != "/session" {
		return Target{}, fmt.Errorf("libvirt URI %q: the qemu driver's path is /system or /session, not %q", raw, u.Path)
	}
	if t.Driver == "test" && u.Path == "" {
		return Target{}, fmt.Errorf("libvirt URI %q: the test driver needs a path: test:///default or test:///ABSOLUTE/PATH.xml", raw)
	}
	t.Host, t.Port, t.User = u.Hostname(), u.Port(), u.User.Username()
	if t.Transport == "unix" && t.Host != "" {
		return Target{}, fmt.Errorf("libvirt URI %q names host %q but no transport: write %s+ssh://%s%s or %s+tls://%s%s",
			raw, t.Host, t.Driver, u.Host, u.Path, t.Driver, u.Host, u.Path)
	}
	if t.Transport != "unix" && t.Host == "" {
		return Target{}, fmt.Errorf("libvirt URI %q: transport %s needs a host: %s://HOST%s", raw, t.Transport, u.Scheme, u.Path)
	}
	q := u.Query()
	t.Socket = q.Get("socket")
	t.PKIPath = q.Get("pkipath")
	t.Keyfile = q.Get("keyfile")
	t.KnownHosts = q.Get("known_hosts")
	if t.Socket == "" && (t.Transport == "unix" || t.Transport == "ssh") {
		t.Socket = defaultSocket
		if readonly {
			t.Socket = defaultSocketRO
		}
	}
	// The daemon is asked for the driver and path only: transport and
	// client-side parameters (socket, keyfile, …) mean nothing to it.
	t.Open = t.Driver + "://" + u.Path
	return t, nil
}

// Local reports whether the daemon runs on this machine: a unix socket, or
// a network transport to a loopback address. Such a daemon competes with
// stowage for the same CPUs.
func (t Target) Local() bool {
	if t.Transport == "unix" {
		return true
	}
	if t.Host == "localhost" {
		return true
	}
	ip := net.ParseIP(t.Host)
	return ip != nil && ip.IsLoopback()
}

// Name is a short label for the host: its hostname, or "local".
func (t Target) Name() string {
	if t.Host != "" {
		return t.Host
	}
	if t.Driver == "test" {
		return "test:" + t.Open[len("test://"):]
	}
	return "local"
}
