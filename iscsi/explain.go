package iscsi

import (
	"fmt"
	"strings"
)

// Explain turns the errors libvirt relays from iscsiadm into words an admin
// can act on; the original error stays wrapped.
func Explain(err error, p Portal) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "iscsiadm") && (strings.Contains(msg, "cannot execute binary") || strings.Contains(msg, "No such file")):
		return fmt.Errorf("the host has no iSCSI initiator (iscsiadm is missing): install open-iscsi there (Debian/Ubuntu: apt install open-iscsi; RHEL/Fedora: dnf install iscsi-initiator-utils) and start iscsid: %w", err)
	case strings.Contains(msg, "authorization failure") || strings.Contains(msg, "Authentication failure") || strings.Contains(msg, "exit status 24"):
		return fmt.Errorf("the target refused the login: wrong CHAP user or secret for %s? %w", p, err)
	case strings.Contains(msg, "No records found") || strings.Contains(msg, "exit status 21"):
		return fmt.Errorf("the portal %s does not offer that target: %w", p, err)
	case strings.Contains(msg, "cannot make connection") || strings.Contains(msg, "Connection refused") ||
		strings.Contains(msg, "connection login retries") || strings.Contains(msg, "exit status 4") ||
		strings.Contains(msg, "exit status 8"):
		return fmt.Errorf("no iSCSI target answers at %s (from the hypervisor): check the address, the port and the network path: %w", p, err)
	}
	return err
}
