package main

import (
	"log/slog"

	"stowage/libvirtx"
	"stowage/plan"
	"stowage/themes"
	"stowage/ui/app"
	"stowage/ui/data"
	"stowage/ui/keys"
	"stowage/ui/views"
)

// newConsole wires the console: one libvirt session per host (dialed on
// first refresh, redialed with backoff), the store, the keymap with the
// config's remaps, and the root model.
func newConsole(o options, cfg config, st themes.Styles, log *slog.Logger) (*app.Model, func(), error) {
	km := keys.Default()
	if err := km.Remap(cfg.Keys); err != nil {
		return nil, nil, err
	}
	backend := data.NewLibvirt(o.uris, libvirtx.Options{Timeout: o.timeout, ReadOnly: o.readonly}, libvirtx.DefaultBackoff)
	// The first pool and host-key trust run through plan, audited.
	backend.Plan = plan.Runner{Audit: plan.NewAudit(plan.DefaultAuditPath()), Log: log}
	store := data.NewStore(backend, o.timeout)
	// The wizards' entry points run on the console's own sessions. Under
	// --readonly every action stays nil, so no mutating key is offered.
	actions := driveActions(backend.Conn, o.uris, cfg, o.readonly, st, log, o.timeout)
	actions.LVMOnISCSI = lvmOnISCSIAction(o.readonly, st, o.timeout, backend.Conn, o.uris)
	m := app.New(app.Deps{
		Store:    store,
		Keys:     km,
		Styles:   st,
		Actions:  actions,
		ReadOnly: o.readonly,
		Refresh:  o.refresh,
		Kinds:    views.Registry(),
	})
	return m, backend.Close, nil
}
