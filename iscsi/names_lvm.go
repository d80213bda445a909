package iscsi

import (
	"fmt"
	"strings"
)

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
