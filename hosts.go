package main

import (
	"stowage/libvirtx"
	"stowage/themes"
	"stowage/ui/app"
	"stowage/ui/common"
	"stowage/ui/data"
	"stowage/ui/keys"
	"stowage/ui/views"
)

// consoleActions are the wizards' entry points. They stay nil until the
// drive and iSCSI wizards are wired here; under --readonly they are always
// nil, so no mutating key is ever offered.
func consoleActions(readonly bool) common.Actions {
	if readonly {
		return common.Actions{}
	}
	return common.Actions{}
}

// newConsole wires the console: one libvirt session per host (dialed on
// first refresh, redialed with backoff), the store, the keymap with the
// config's remaps, and the root model.
func newConsole(o options, cfg config, st themes.Styles) (*app.Model, func(), error) {
	km := keys.Default()
	if err := km.Remap(cfg.Keys); err != nil {
		return nil, nil, err
	}
	backend := data.NewLibvirt(o.uris, libvirtx.Options{Timeout: o.timeout, ReadOnly: o.readonly}, libvirtx.DefaultBackoff)
	store := data.NewStore(backend, o.timeout)
	acts := consoleActions(o.readonly)
	acts.LVMOnISCSI = lvmOnISCSIAction(o.readonly, st, o.timeout) // nil under --readonly
	m := app.New(app.Deps{
		Store:    store,
		Keys:     km,
		Styles:   st,
		Actions:  acts,
		ReadOnly: o.readonly,
		Refresh:  o.refresh,
		Kinds:    views.Registry(),
	})
	return m, backend.Close, nil
}
