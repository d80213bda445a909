package main

import (
	"context"
	"errors"
	"slices"
	"testing"

	"stowage/libvirtx"
)

// The console's LVM-on-iSCSI wizard checks every other host the console
// is connected to, on the console's sessions; a host that cannot be
// reached is passed with its error (the wizard then refuses the LUN)
// rather than left out.
func TestLVMOnISCSIWizardChecksEveryConnectedHost(t *testing.T) {
	hosts := []string{"qemu+ssh://root@hv1/system", "qemu+ssh://root@hv2/system", "qemu+ssh://root@hv3/system"}
	var asked []string
	down := errors.New("connection refused")
	connect := func(_ context.Context, uri string) (*libvirtx.Conn, error) {
		asked = append(asked, uri)
		if uri == hosts[2] {
			return nil, down
		}
		return &libvirtx.Conn{}, nil
	}
	others := otherHosts(connect, hosts, hosts[1])
	if others == nil {
		t.Fatal("no other hosts for a wizard on hv2 of three")
	}
	got := others(context.Background())
	if !slices.Equal(asked, []string{hosts[0], hosts[2]}) {
		t.Fatalf("connected to %v; want hv1 and hv3, not the wizard's own hv2", asked)
	}
	if len(got) != 2 || got[0].URI != hosts[0] || got[0].Host == nil || got[0].Err != nil ||
		got[1].URI != hosts[2] || got[1].Host != nil || !errors.Is(got[1].Err, down) {
		t.Fatalf("other hosts %+v", got)
	}
	if otherHosts(connect, hosts[1:2], hosts[1]) != nil {
		t.Error("a console with one host has other hosts")
	}
}
