package iscsi_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"stowage/iscsi"
	"stowage/lab"
	"stowage/libvirtx"
)

// TestDiscoveryNamesMissingOpenISCSI runs discovery on the outer lab host,
// whose libvirt has the iscsi backend but no iscsiadm: the error must say
// to install open-iscsi.
func TestDiscoveryNamesMissingOpenISCSI(t *testing.T) {
	e := lab.Need(t)
	if _, err := os.Stat("/usr/bin/iscsiadm"); err == nil {
		lab.Unavailable(t, "this machine has iscsiadm, so libvirt's discovery cannot fail for lack of it; "+
			"test the missing-initiator message on a machine without open-iscsi (the lab does not install it)")
	}
	ctx := context.Background()
	c, err := libvirtx.Dial(ctx, e.URI, libvirtx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := iscsi.ParsePortal(e.ISCSIPortal)
	if err != nil {
		t.Fatal(err)
	}
	_, err = iscsi.Discover(ctx, c, p)
	if err == nil || !strings.Contains(err.Error(), "install open-iscsi") {
		t.Fatalf("discovery without iscsiadm: %v", err)
	}
}
