package cli

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"stowage/cli/env"
	"stowage/libvirtx"
	"stowage/ui/common"
)

// Opening a drive screen must not dial the host on the UI goroutine: the
// connection is made inside the screen's tea.Cmd, so a hung host cannot
// freeze the console when the admin presses the create-drive key.
func TestDriveScreensDialOnlyInCmds(t *testing.T) {
	var calls atomic.Int32
	unreachable := errors.New("host unreachable")
	connect := func(context.Context, string) (*libvirtx.Conn, error) {
		calls.Add(1)
		return nil, unreachable
	}
	acts := driveActions(&env.Env{Log: slog.New(slog.DiscardHandler), Timeout: time.Second}, connect)
	at := common.DriveTarget{HostURI: "qemu:///system", Pool: "p", Volume: "v", VM: "vm", Disk: "vdb"}
	for name, open := range map[string]func(common.DriveTarget) common.Component{
		"create": acts.CreateDrive, "attach": acts.AttachDrive,
	} {
		cmd := open(at).Init()
		if n := calls.Load(); n != 0 {
			t.Fatalf("%s: opening the screen dialed the host %d times on the UI goroutine", name, n)
		}
		if cmd == nil {
			t.Fatalf("%s: no Cmd to load the host's data", name)
		}
		cmd() // the load runs here, off the UI goroutine
		if calls.Swap(0) == 0 {
			t.Errorf("%s: the load Cmd never asked for a connection", name)
		}
	}
	if acts := driveActions(&env.Env{ReadOnly: true}, connect); acts.CreateDrive != nil || acts.DeleteDrive != nil || acts.ResizeDrive != nil {
		t.Error("--readonly left drive actions set")
	}
}
