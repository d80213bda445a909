package model

// Naming rules shared by the pool forms, the headless verbs and the
// LVM-on-iSCSI setup: iSCSI names (RFC 3720/3722), LVM volume group and
// libvirt pool names, and host[:port] portals. They live here, pure, so
// model's pool validation and package iscsi apply the same rules (iscsi
// keeps thin wrappers under its old names).

import (
	"fmt"
	"strconv"
	"strings"
)

// ISCSINameType is the kind of an iSCSI name (RFC 3720 §3.2.6.3, RFC 3980).
type ISCSINameType string

// The three iSCSI name formats.
const (
	ISCSIIQN ISCSINameType = "iqn"
	ISCSIEUI ISCSINameType = "eui"
	ISCSINAA ISCSINameType = "naa"
)

// MaxISCSINameLen is the longest iSCSI name, in bytes (RFC 3720 §3.2.6.1).
const MaxISCSINameLen = 223

// ValidateISCSIName checks an iSCSI name and returns its type.
//
//	iqn.YYYY-MM.reversed.domain[:anything]   e.g. iqn.2026-11.lab.stowage:san1
//	eui. + 16 hex digits                     e.g. eui.02004567A425678D
//	naa. + 16 or 32 hex digits               e.g. naa.52004567BA64678D
//
// Decision: only the ASCII subset of RFC 3722's stringprep profile is
// accepted (a-z, 0-9, '-', '.', ':'). Upper case is refused rather than
// folded, because targets compare names byte for byte in practice (tgtd,
// LIO) and a silently lower-cased IQN would not log in. The hex digits of
// eui./naa. names are the exception: RFC 3720's own examples are upper case.
func ValidateISCSIName(s string) (ISCSINameType, error) {
	if s == "" {
		return "", fmt.Errorf("empty iSCSI name: expected iqn.YYYY-MM.reversed.domain[:name], eui.<16 hex> or naa.<16|32 hex>")
	}
	if len(s) > MaxISCSINameLen {
		return "", fmt.Errorf("iSCSI name is %d bytes; RFC 3720 allows at most %d", len(s), MaxISCSINameLen)
	}
	prefix, rest, ok := strings.Cut(s, ".")
	if !ok {
		return "", fmt.Errorf("iSCSI name %q: expected iqn., eui. or naa. prefix", s)
	}
	switch strings.ToLower(prefix) {
	case "iqn":
		if prefix != "iqn" {
			return "", fmt.Errorf("iSCSI name %q: the prefix must be lower-case: iqn.…", s)
		}
		return ISCSIIQN, validateIQN(s, rest)
	case "eui":
		return ISCSIEUI, validateHexName(s, rest, 16)
	case "naa":
		return ISCSINAA, validateHexName(s, rest, 16, 32)
	}
	return "", fmt.Errorf("iSCSI name %q: unknown type %q (iqn., eui. or naa.)", s, prefix)
}

func validateHexName(s, hex string, lens ...int) error {
	okLen := false
	for _, n := range lens {
		okLen = okLen || len(hex) == n
	}
	want := strconv.Itoa(lens[0])
	if len(lens) == 2 {
		want += " or " + strconv.Itoa(lens[1])
	}
	if !okLen {
		return fmt.Errorf("iSCSI name %q: want %s hex digits after the prefix, have %d", s, want, len(hex))
	}
	for i, r := range hex {
		if !isHex(r) {
			return fmt.Errorf("iSCSI name %q: %q at position %d is not a hex digit", s, r, i+4)
		}
	}
	return nil
}

func isHex(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F'
}

func validateIQN(s, rest string) error {
	// rest: YYYY-MM.reversed.domain[:suffix]
	if len(rest) < 8 || rest[4] != '-' || rest[7] != '.' {
		return fmt.Errorf("iSCSI name %q: expected iqn.YYYY-MM.reversed.domain (the date the naming authority owned the domain)", s)
	}
	year, err1 := strconv.Atoi(rest[:4])
	month, err2 := strconv.Atoi(rest[5:7])
	if err1 != nil || err2 != nil || !allDigits(rest[:4]) || !allDigits(rest[5:7]) {
		return fmt.Errorf("iSCSI name %q: %q is not a YYYY-MM date", s, rest[:7])
	}
	if year < 1970 || month < 1 || month > 12 {
		return fmt.Errorf("iSCSI name %q: %q is not a valid year-month", s, rest[:7])
	}
	authority, suffix, hasSuffix := strings.Cut(rest[8:], ":")
	if authority == "" {
		return fmt.Errorf("iSCSI name %q: the reversed domain name after the date is missing", s)
	}
	for _, label := range strings.Split(authority, ".") {
		if label == "" {
			return fmt.Errorf("iSCSI name %q: empty label in the reversed domain %q", s, authority)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("iSCSI name %q: %q is not allowed in the domain part (a-z, 0-9, '-')", s, r)
			}
		}
	}
	if hasSuffix && suffix == "" {
		return fmt.Errorf("iSCSI name %q: nothing after ':'", s)
	}
	for _, r := range suffix {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == ':') {
			if r >= 'A' && r <= 'Z' {
				return fmt.Errorf("iSCSI name %q: upper-case %q; iSCSI names are lower case (RFC 3722)", s, r)
			}
			return fmt.Errorf("iSCSI name %q: %q is not allowed (a-z, 0-9, '-', '.', ':')", s, r)
		}
	}
	return nil
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// ValidateVGName applies LVM's rules for volume group names (lvm(8),
// "VALID NAMES"): 1-127 characters from a-z A-Z 0-9 + _ . -, not starting
// with '-', not "." or "..", and none of the names LVM reserves.
func ValidateVGName(s string) error {
	if s == "" {
		return fmt.Errorf("volume group name is empty")
	}
	if len(s) > 127 {
		return fmt.Errorf("volume group name %q is longer than 127 characters", s)
	}
	if s == "." || s == ".." || strings.HasPrefix(s, "-") {
		return fmt.Errorf("volume group name %q: may not be '.' or '..' or start with '-'", s)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+_.-", r)) {
			return fmt.Errorf("volume group name %q: %q is not allowed (a-z, A-Z, 0-9, + _ . -)", s, r)
		}
	}
	for _, bad := range []string{"snapshot", "pvmove", "_cdata", "_cmeta", "_mimage", "_mlog", "_rimage", "_rmeta", "_tdata", "_tmeta", "_vorigin"} {
		if strings.Contains(s, bad) {
			return fmt.Errorf("volume group name %q: LVM reserves names containing %q", s, bad)
		}
	}
	return nil
}

// ValidatePoolName checks a libvirt pool name as stowage allows it: libvirt
// itself refuses only '/', but a name also becomes a file name and a shell
// word, so stick to the same safe set as VGs.
func ValidatePoolName(s string) error {
	if s == "" {
		return fmt.Errorf("pool name is empty")
	}
	if len(s) > 100 {
		return fmt.Errorf("pool name %q is longer than 100 characters", s)
	}
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, ".") {
		return fmt.Errorf("pool name %q may not start with '-' or '.'", s)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+_.-", r)) {
			return fmt.Errorf("pool name %q: %q is not allowed (a-z, A-Z, 0-9, + _ . -)", s, r)
		}
	}
	return nil
}

// DefaultISCSIPort is the iSCSI well-known port (RFC 3720 §13.1).
const DefaultISCSIPort = 3260

// ParsePortal reads "host", "host:port", "[v6addr]", "[v6addr]:port" or a
// bare IPv6 address (no port possible then); the port defaults to 3260.
// An optional ",TPGT" suffix, as iscsiadm prints portals, is refused: a
// portal group tag is not part of an address.
func ParsePortal(s string) (host string, port int, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", 0, fmt.Errorf("empty portal: expected host, host:port or [v6addr]:port")
	}
	host, portStr := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, fmt.Errorf("portal %q: missing ']' after the IPv6 address", s)
		}
		host = s[1:end]
		after := s[end+1:]
		if after != "" {
			if !strings.HasPrefix(after, ":") {
				return "", 0, fmt.Errorf("portal %q: expected ':port' after ']'", s)
			}
			portStr = after[1:]
			if portStr == "" {
				return "", 0, fmt.Errorf("portal %q: empty port after ':'", s)
			}
		}
		if !isIPv6(host) {
			return "", 0, fmt.Errorf("portal %q: %q in brackets is not an IPv6 address", s, host)
		}
	case strings.Count(s, ":") > 1:
		// A bare IPv6 address; a port needs brackets.
		if !isIPv6(s) {
			return "", 0, fmt.Errorf("portal %q: not an IPv6 address; write [v6addr]:port to give a port", s)
		}
	case strings.Contains(s, ":"):
		host, portStr, _ = strings.Cut(s, ":")
		if portStr == "" {
			return "", 0, fmt.Errorf("portal %q: empty port after ':'", s)
		}
	}
	port = DefaultISCSIPort
	if portStr != "" {
		n, aerr := strconv.Atoi(portStr)
		if aerr != nil || !allDigits(portStr) || n < 1 || n > 65535 {
			return "", 0, fmt.Errorf("portal %q: port %q is not a number from 1 to 65535", s, portStr)
		}
		port = n
	}
	if err := ValidateHost(host); err != nil {
		return "", 0, fmt.Errorf("portal %q: %w", s, err)
	}
	return host, port, nil
}

// ValidateHost accepts an IP address or a DNS name (RFC 1123 labels).
func ValidateHost(h string) error {
	if h == "" {
		return fmt.Errorf("empty host")
	}
	if isIPv4(h) || isIPv6(h) {
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

// isIPv4 reports a dotted-quad address (model may not import net).
func isIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || !allDigits(p) || len(p) > 3 || n > 255 {
			return false
		}
	}
	return true
}

// isIPv6 reports an IPv6 address in text form: hex groups of up to four
// digits, at most one "::", optionally ending in a dotted quad.
func isIPv6(s string) bool {
	if !strings.Contains(s, ":") || strings.Count(s, "::") > 1 {
		return false
	}
	groups := 0
	parts := strings.Split(s, ":")
	for i, p := range parts {
		switch {
		case p == "":
			// part of "::" (or a leading/trailing colon of it)
		case i == len(parts)-1 && strings.Contains(p, "."):
			if !isIPv4(p) {
				return false
			}
			groups += 2
		default:
			if len(p) > 4 {
				return false
			}
			for _, r := range p {
				if !isHex(r) {
					return false
				}
			}
			groups++
		}
	}
	if strings.Contains(s, "::") {
		return groups < 8
	}
	return groups == 8 && !strings.HasPrefix(s, ":") && !strings.HasSuffix(s, ":")
}
