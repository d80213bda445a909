package model

import (
	"bytes"
	"errors"
	"fmt"
)

// UnknownHostKeyError is a dial's refusal of an SSH host key that
// known_hosts does not list. Nothing was trusted: the console shows the
// key (Subject, KeyType, Fingerprint) and, when the admin says so, has the
// backend record exactly this key, then dials again.
type UnknownHostKeyError struct {
	// Host is the address as known_hosts records it (host or [host]:port).
	Host        string
	KeyType     string
	Fingerprint string // SHA256:…, as ssh-keygen -l prints it
	KnownHosts  string // the file a trust appends to
	// JumpHost is the ProxyJump entry (as ssh_config spells it) whose key
	// this is; empty when the key is the libvirt host's own.
	JumpHost string
	// Key is the key in SSH wire format, as the server presented it. A
	// trust writes exactly these bytes, and only while Fingerprint is
	// theirs.
	Key []byte
}

// Subject names the server whose key is unknown: "[10.0.0.5]:22", or
// "jump host bastion ([10.0.0.1]:22)".
func (e *UnknownHostKeyError) Subject() string {
	if e.JumpHost == "" {
		return e.Host
	}
	return fmt.Sprintf("jump host %s (%s)", e.JumpHost, e.Host)
}

func (e *UnknownHostKeyError) Error() string {
	return fmt.Sprintf("unknown SSH host key for %s: %s %s (not in %s); verify the fingerprint with the host's admin before trusting it",
		e.Subject(), e.KeyType, e.Fingerprint, e.KnownHosts)
}

// SameKey reports whether e and o are the same key of the same server,
// bound for the same known_hosts file.
func (e *UnknownHostKeyError) SameKey(o *UnknownHostKeyError) bool {
	if e == nil || o == nil || len(e.Key) == 0 || len(o.Key) == 0 {
		return false
	}
	return e.Host == o.Host && e.JumpHost == o.JumpHost && e.KnownHosts == o.KnownHosts &&
		e.Fingerprint == o.Fingerprint && bytes.Equal(e.Key, o.Key)
}

// ErrHostKeyNotShown is the refusal to trust a key other than the one
// whose fingerprint the admin was shown (the server's key changed, or
// another hop's key is asking, between the screen and the keypress).
var ErrHostKeyNotShown = errors.New("not the host key that was shown")
