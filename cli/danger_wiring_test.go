package cli

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"stowage/cli/env"
	"stowage/libvirtx"
	"stowage/ui/common"
	"stowage/ui/keys"
)

// Every Dangerous action of the keymap opens, as wired here, a screen
// that asks first (keys.Confirmer). A new dangerous action fails this
// test until its screen is listed and confirms; the root refuses to open
// anything else for it at run time (ui/app).
func TestDangerousActionsOpenConfirmations(t *testing.T) {
	km := keys.Default()
	connect := func(context.Context, string) (*libvirtx.Conn, error) { return nil, context.Canceled }
	e := &env.Env{Keys: km, Log: slog.New(slog.DiscardHandler), Timeout: time.Second}
	acts := driveActions(e, connect)
	poolAct := poolActions(e, connect)
	poolOpen := func(action string) func(common.DriveTarget) common.Component {
		return func(at common.DriveTarget) common.Component { return poolAct(at, action) }
	}
	opens := map[string]func(common.DriveTarget) common.Component{
		"delete_drive":   acts.DeleteDrive,
		"detach_drive":   acts.DetachDrive,
		"teardown_iscsi": teardownISCSIAction(e, connect),
		"pool_stop":      poolOpen("stop"),
		"pool_build":     poolOpen("build"),
		"pool_delete":    poolOpen("delete"),
		"pool_undefine":  poolOpen("undefine"),
		"wipe_drive":     acts.WipeDrive,
		"upload_drive":   acts.UploadDrive,
	}
	at := common.DriveTarget{HostURI: "qemu:///system", Pool: "p", Volume: "v", VM: "vm", Disk: "vdb"}
	for _, a := range km.Actions() {
		if !a.Dangerous {
			continue
		}
		open, ok := opens[a.Name]
		if !ok || open == nil {
			t.Errorf("dangerous action %s opens no known screen", a.Name)
			continue
		}
		if _, ok := open(at).(keys.Confirmer); !ok {
			t.Errorf("dangerous action %s opens %T, which does not confirm", a.Name, open(at))
		}
	}
}
