package cli

import (
	"context"
	"time"

	"stowage/ceph"
	"stowage/cli/env"
	"stowage/connect"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
	"stowage/ui/app"
	"stowage/ui/data"
	"stowage/ui/views"
)

// newConsole wires the console on the environment: one libvirt session per
// host (dialed on first refresh, redialed with backoff), the store, the
// keymap, and the root model. The returned func closes the sessions.
func newConsole(e *env.Env) (*app.Model, func()) {
	hosts := connect.New(e.Hosts, libvirtx.Options{Timeout: e.Timeout, ReadOnly: e.ReadOnly, SSHConfig: e.SSHConfig}, libvirtx.DefaultBackoff)
	// The first pool and host-key trust run through plan, audited.
	hosts.Plan = plan.Runner{Audit: e.Audit, Log: e.Log}
	hosts.Doctor = doctorFor(e)
	// The Ceph view reaches Ceph as the doctor and `inventory --ceph` do.
	hosts.CephAccess = func(ctx context.Context, c *libvirtx.Conn, uri string, p model.Pool) (ceph.Config, error) {
		return e.CephConfig(ctx, c, p, uri, "", "")
	}
	store := data.NewStore(hosts, e.Timeout)
	// One line per run when the last host's first refresh ends: how long
	// a fleet takes to show whole, and how many hosts came up.
	store.OnFirstLoad = func(f data.FirstLoad) {
		e.Log.Info("all hosts answered", "hosts", f.Hosts, "connected", f.Connected,
			"down", f.Hosts-f.Connected, "pools", f.Pools, "elapsed", f.Elapsed.Round(time.Millisecond))
	}
	// The wizards' entry points run on the console's own sessions. Under
	// --readonly every action stays nil, so no mutating key is offered.
	actions := driveActions(e, hosts.Conn)
	actions.LVMOnISCSI = lvmOnISCSIAction(e, hosts.Conn, actions.CreateDrive)
	actions.TeardownISCSI = teardownISCSIAction(e, hosts.Conn)
	actions.PoolAction = poolActions(e, hosts.Conn)
	actions.DefinePool = definePoolAction(e)
	m := app.New(app.Deps{
		Store:    store,
		Keys:     e.Keys,
		Styles:   e.Styles,
		Actions:  actions,
		ReadOnly: e.ReadOnly,
		Refresh:  e.Refresh,
		Kinds:    views.Registry(),
	})
	return m, hosts.Close
}
