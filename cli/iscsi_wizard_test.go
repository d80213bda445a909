package cli

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	tea "charm.land/bubbletea/v2"

	"stowage/libvirtx"
	"stowage/ui/common"
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

// The wizard's connections are released when its own Update asks to be
// popped, however the Pop is wrapped; any other message releases nothing.
func TestOnPopClosesOnlyOnPop(t *testing.T) {
	closed := 0
	release := func() { closed++ }
	other := func() tea.Msg { return "other" }
	if msg := onPop(other, release)(); msg != "other" || closed != 0 {
		t.Fatalf("a plain message: %v, closed %d", msg, closed)
	}
	for name, cmd := range map[string]tea.Cmd{
		"plain":    common.Pop(nil),
		"batch":    tea.Batch(other, common.Pop(nil)),
		"sequence": tea.Sequence(other, common.Pop(nil)),
	} {
		closed = 0
		var run func(tea.Cmd) bool
		run = func(c tea.Cmd) bool {
			msg := c()
			if _, ok := msg.(common.PopMsg); ok {
				return true
			}
			if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice {
				popped := false
				for i := range v.Len() {
					if sub, ok := v.Index(i).Interface().(tea.Cmd); ok && sub != nil && run(sub) {
						popped = true
					}
				}
				return popped
			}
			return false
		}
		if !run(onPop(cmd, release)) || closed != 1 {
			t.Errorf("%s: popped and closed %d times; want the pop and 1 close", name, closed)
		}
	}
	if onPop(nil, release) != nil {
		t.Error("a nil Cmd became one")
	}
}
