package libvirtx

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// ErrPlaintextSecret marks a refusal to send a secret value (a LUKS
// passphrase, a cephx key, a CHAP secret) over a transport that does not
// encrypt it.
var ErrPlaintextSecret = errors.New("refusing to send a secret over an unencrypted connection")

// CarriesSecretsSafely reports whether a secret value may travel over this
// connection, and when not, why and what to use instead. This is the one
// place the rule lives: unix sockets, qemu+ssh and qemu+tls are safe;
// qemu+tcp is plaintext (go-libvirt has no SASL, so nothing encrypts it)
// and is safe only to a loopback address, where the bytes never leave
// this machine.
func (t Target) CarriesSecretsSafely() (bool, string) {
	if t.Transport != "tcp" {
		return true, ""
	}
	if isLoopbackHost(t.Host) {
		return true, ""
	}
	alt := strings.Replace(t.Raw, "+tcp://", "+ssh://", 1)
	altTLS := strings.Replace(t.Raw, "+tcp://", "+tls://", 1)
	return false, fmt.Sprintf("%s is qemu+tcp, which sends everything in plaintext (no SASL, no TLS), "+
		"so anyone on the network between here and %s could read the secret; connect with %s or %s instead",
		t.Raw, t.Host, alt, altTLS)
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// refuseUnsafeSecret is called first by every method that sends a secret
// value (SetSecretValue, DefineSecret, DefineCHAPSecret, and
// DefineVolumeSecret, whose secret exists only to be given one): a refusal
// happens before anything is defined, so nothing is left to undo.
func (c *Conn) refuseUnsafeSecret(what string) error {
	if ok, why := c.Target.CarriesSecretsSafely(); !ok {
		return fmt.Errorf("%s: %w: %s", what, ErrPlaintextSecret, why)
	}
	return nil
}
