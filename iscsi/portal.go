package iscsi

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DefaultPort is the iSCSI well-known port (RFC 3720 §13.1).
const DefaultPort = 3260

// Portal is a target's network portal: where sendtargets and logins go.
type Portal struct {
	Host string
	Port int
}

// String renders host:port, bracketing IPv6 addresses.
func (p Portal) String() string {
	return net.JoinHostPort(p.Host, strconv.Itoa(p.Port))
}

// ParsePortal reads "host", "host:port", "[v6addr]", "[v6addr]:port" or a
// bare IPv6 address (no port possible then); the port defaults to 3260.
// An optional ",TPGT" suffix, as iscsiadm prints portals, is refused: a
// portal group tag is not part of an address.
func ParsePortal(s string) (Portal, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Portal{}, fmt.Errorf("empty portal: expected host, host:port or [v6addr]:port")
	}
	host, portStr := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return Portal{}, fmt.Errorf("portal %q: missing ']' after the IPv6 address", s)
		}
		host = s[1:end]
		after := s[end+1:]
		if after != "" {
			if !strings.HasPrefix(after, ":") {
				return Portal{}, fmt.Errorf("portal %q: expected ':port' after ']'", s)
			}
			portStr = after[1:]
			if portStr == "" {
				return Portal{}, fmt.Errorf("portal %q: empty port after ':'", s)
			}
		}
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return Portal{}, fmt.Errorf("portal %q: %q in brackets is not an IPv6 address", s, host)
		}
	case strings.Count(s, ":") > 1:
		// A bare IPv6 address; a port needs brackets.
		if net.ParseIP(s) == nil {
			return Portal{}, fmt.Errorf("portal %q: not an IPv6 address; write [v6addr]:port to give a port", s)
		}
	case strings.Contains(s, ":"):
		host, portStr, _ = strings.Cut(s, ":")
		if portStr == "" {
			return Portal{}, fmt.Errorf("portal %q: empty port after ':'", s)
		}
	}
	port := DefaultPort
	if portStr != "" {
		n, err := strconv.Atoi(portStr)
		if err != nil || !allDigits(portStr) || n < 1 || n > 65535 {
			return Portal{}, fmt.Errorf("portal %q: port %q is not a number from 1 to 65535", s, portStr)
		}
		port = n
	}
	if err := validateHost(host); err != nil {
		return Portal{}, fmt.Errorf("portal %q: %w", s, err)
	}
	return Portal{Host: host, Port: port}, nil
}

// validateHost accepts an IP address or a DNS name (RFC 1123 labels).
func validateHost(h string) error {
	if h == "" {
		return fmt.Errorf("empty host")
	}
	if net.ParseIP(h) != nil {
		return nil
	}
	if len(h) > 253 {
		return fmt.Errorf("host name longer than 253 characters")
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("host %q: each dot-separated label needs 1 to 63 characters", h)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host %q: a label may not start or end with '-'", h)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("host %q: %q is not allowed in a host name", h, r)
			}
		}
	}
	return nil
}
