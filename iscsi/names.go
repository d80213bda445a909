package iscsi

import (
	"fmt"
	"strconv"
	"strings"
)

// NameType is the kind of an iSCSI name (RFC 3720 §3.2.6.3, RFC 3980).
type NameType string

// The three iSCSI name formats.
const (
	IQN NameType = "iqn"
	EUI NameType = "eui"
	NAA NameType = "naa"
)

// MaxNameLen is the longest iSCSI name, in bytes (RFC 3720 §3.2.6.1).
const MaxNameLen = 223

// ValidateName checks an iSCSI name and returns its type.
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
func ValidateName(s string) (NameType, error) {
	if s == "" {
		return "", fmt.Errorf("empty iSCSI name: expected iqn.YYYY-MM.reversed.domain[:name], eui.<16 hex> or naa.<16|32 hex>")
	}
	if len(s) > MaxNameLen {
		return "", fmt.Errorf("iSCSI name is %d bytes; RFC 3720 allows at most %d", len(s), MaxNameLen)
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
		return IQN, validateIQN(s, rest)
	case "eui":
		return EUI, validateHexName(s, rest, 16)
	case "naa":
		return NAA, validateHexName(s, rest, 16, 32)
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
