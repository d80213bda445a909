// Package pools is the pools view: state, sizes with a usage bar, whether
// drives can be created and why not, and the encryption each pool takes
// (words from render). When a connected host has no pool it offers a
// first dir or rbd pool, or the LVM-on-iSCSI wizard. It imports render,
// ui/views/kind and model types; never libvirtx.
package pools

import (
	"fmt"

	"charm.land/bubbles/v2/key"

	"stowage/model"
	"stowage/render"
	"stowage/ui/common"
	"stowage/ui/data"
	"stowage/ui/keys"
	"stowage/ui/table"
	"stowage/ui/views/kind"
)

// Kind is the pools view.
type Kind struct{}

// Name is the palette command.
func (Kind) Name() string { return "pools" }

// Title names the screen.
func (Kind) Title(c kind.Ctx) string {
	if c.Scope.Host >= 0 && c.Scope.Host < len(c.Store.Hosts) {
		return render.PoolsTitle(c.Store.Hosts[c.Scope.Host].URI)
	}
	return render.PoolsTitle("")
}

// Columns are the pools table's columns.
func (Kind) Columns(c kind.Ctx) []table.Column {
	return kind.Columns(c, render.PoolColumns(), []table.Column{{Width: 18, Flex: true}, {Width: 12}, {Width: 8},
		{Width: 4}, {Width: 4}, {Width: 9, Right: true}, {Width: 9, Right: true}, {Width: 9, Right: true}, {Width: 15},
		{Width: 24, Flex: true}, {Width: 14}})
}

// wizardKey is the LVM-on-iSCSI wizard's key where this pool offers it
// (an iSCSI pool, outside --readonly), else "": the "can create drives"
// label names the key exactly where Actions offers it.
func wizardKey(p model.PoolInfo, km keys.Map, acts common.Actions) string {
	if isISCSI(p.Type) && acts.LVMOnISCSI != nil {
		return km.LVMOnISCSI.Help().Key
	}
	return ""
}

// Detail spells out the selected pool's create ability in full.
func (Kind) Detail(c kind.Ctx, k string) string {
	_, p := find(c, k)
	if p == nil {
		return ""
	}
	return render.PoolDetail(*p, wizardKey(*p, c.Keys, c.Actions))
}

func isISCSI(t model.PoolType) bool { return t == model.PoolISCSI || t == model.PoolISCSIDirect }

// Rows lists the pools in scope.
func (Kind) Rows(c kind.Ctx) []table.Row {
	var out []table.Row
	for _, i := range c.Hosts() {
		for _, p := range c.Store.Hosts[i].Info.Pools {
			sortk := []string{"", "", "", "", "", kind.SortBytes(p.Capacity), kind.SortBytes(p.Allocation), kind.SortBytes(p.Available),
				fmt.Sprintf("%020d", usagePermille(p))}
			out = append(out, kind.Row(c, i, p.Name, render.PoolRow(p, wizardKey(p, c.Keys, c.Actions)), sortk))
		}
	}
	return out
}

func usagePermille(p model.PoolInfo) uint64 {
	if p.Capacity == 0 {
		return 0
	}
	return uint64(float64(p.Allocation) / float64(p.Capacity) * 1000)
}

func find(c kind.Ctx, k string) (int, *model.PoolInfo) {
	if k == "" {
		return 0, nil
	}
	h, name := kind.SplitKey(k)
	if h >= len(c.Store.Hosts) {
		return h, nil
	}
	for i := range c.Store.Hosts[h].Info.Pools {
		if p := &c.Store.Hosts[h].Info.Pools[i]; p.Name == name {
			return h, p
		}
	}
	return h, nil
}

// Drill opens the pool's volumes.
func (Kind) Drill(c kind.Ctx, k string) (string, kind.Scope, bool) {
	h, p := find(c, k)
	if p == nil {
		return "", kind.Scope{}, false
	}
	return "volumes", kind.Scope{Host: h, Pool: p.Name}, true
}

// Describe shows the pool's XML.
func (Kind) Describe(c kind.Ctx, k string) (int, data.Object, bool) {
	h, p := find(c, k)
	if p == nil {
		return 0, data.Object{}, false
	}
	return h, data.Object{Kind: "pool", Name: p.Name}, true
}

// Actions: create a drive where the pool can; LVM-on-iSCSI from an iSCSI
// pool; its teardown from that pool or a logical pool over it; the pool
// actions its state allows (poolActions); a first pool where the host
// has none.
func (Kind) Actions(c kind.Ctx, k string) []kind.Action {
	var out []kind.Action
	h, p := find(c, k)
	if p != nil {
		uri := c.Store.Hosts[h].URI
		at := common.DriveTarget{HostURI: uri, Pool: p.Name}
		if f := c.Actions.CreateDrive; f != nil && p.CanCreateVolumes && p.Active {
			out = append(out, kind.Action{Binding: c.Keys.CreateDrive, Open: func() common.Component { return f(at) }})
		}
		if f := c.Actions.LVMOnISCSI; f != nil && isISCSI(p.Type) {
			out = append(out, kind.Action{Binding: c.Keys.LVMOnISCSI, Open: func() common.Component { return f(at) }})
		}
		if f := c.Actions.TeardownISCSI; f != nil && mayTearDown(c.Store.Hosts[h].Info.Pools, *p) {
			out = append(out, kind.Action{Binding: c.Keys.TeardownISCSI, Open: func() common.Component { return f(at) }})
		}
		if f := c.Actions.DefinePool; f != nil {
			host := common.DriveTarget{HostURI: uri}
			out = append(out, kind.Action{Binding: c.Keys.DefinePool, Open: func() common.Component { return f(host) }})
		}
		return append(out, poolActions(c, at, p.Pool)...)
	}
	// No selection: a host in scope without pools gets the first-pool offer.
	if c.Scope.Host < 0 || c.Scope.Host >= len(c.Store.Hosts) {
		return nil
	}
	host := c.Store.Hosts[c.Scope.Host]
	if !host.Loaded || len(host.Info.Pools) > 0 {
		return nil
	}
	hi := c.Scope.Host
	if f := c.NewPool; f != nil {
		out = append(out,
			kind.Action{Binding: c.Keys.NewDirPool, Open: func() common.Component { return f(hi, "dir") }},
			kind.Action{Binding: c.Keys.NewRBDPool, Open: func() common.Component { return f(hi, "rbd") }})
	}
	if f := c.Actions.LVMOnISCSI; f != nil {
		out = append(out, kind.Action{Binding: c.Keys.LVMOnISCSI, Open: func() common.Component { return f(common.DriveTarget{HostURI: host.URI}) }})
	}
	if f := c.Actions.DefinePool; f != nil {
		out = append(out, kind.Action{Binding: c.Keys.DefinePool, Open: func() common.Component { return f(common.DriveTarget{HostURI: host.URI}) }})
	}
	return out
}

// mayTearDown: the LVM-on-iSCSI teardown is offered on an iscsi pool, and
// on a logical pool of a host that has one (whether its VG lies on that
// pool's LUNs only the host can say: the teardown's preview reads it and
// refuses a logical pool that is not built on one).
func mayTearDown(pools []model.PoolInfo, p model.PoolInfo) bool {
	switch p.Type {
	case model.PoolISCSI:
		return true
	case model.PoolLogical:
		for _, o := range pools {
			if o.Type == model.PoolISCSI {
				return true
			}
		}
	}
	return false
}

// Empty offers a first pool on a host without any.
func (k Kind) Empty(c kind.Ctx) string {
	if c.Scope.Host < 0 {
		return render.PoolsEmpty(false, false, nil, false)
	}
	if !c.Store.Hosts[c.Scope.Host].Loaded {
		return render.PoolsEmpty(true, false, nil, false)
	}
	var offers []render.Offer
	for _, a := range k.Actions(c, "") {
		offers = append(offers, render.Offer{Key: a.Binding.Help().Key, Desc: a.Binding.Help().Desc})
	}
	return render.PoolsEmpty(true, true, offers, c.NewPool == nil)
}

// poolActions are the pool's lifecycle keys, offered where its state and
// type let the action run: start and build on a stopped pool, stop and
// refresh on a running one, autostart (toggled: the action clears it when
// it is on) on a persistent one, delete where libvirt's backend can
// delete the storage, undefine on a persistent one. They are Secondary:
// in `?`, not in the footer. The refusals that
// depend on VMs and volumes come from the action's own check, with names.
func poolActions(c kind.Ctx, at common.DriveTarget, p model.Pool) []kind.Action {
	f := c.Actions.PoolAction
	if f == nil {
		return nil
	}
	var out []kind.Action
	add := func(ok bool, b key.Binding, action string) {
		if ok {
			out = append(out, kind.Action{Binding: b, Open: func() common.Component { return f(at, action) }, Secondary: true})
		}
	}
	autostart := "autostart"
	if p.Autostart {
		autostart = "autostart off"
	}
	add(!p.Active, c.Keys.PoolStart, "start")
	add(p.Active, c.Keys.PoolStop, "stop")
	add(p.Active, c.Keys.PoolRefresh, "refresh")
	add(p.Persistent, c.Keys.PoolAutostart, autostart)
	add(!p.Active && model.PoolBuildUnsupported(p.Type) == "", c.Keys.PoolBuild, "build")
	add(model.PoolDeleteUnsupported(p.Type) == "", c.Keys.PoolDelete, "delete")
	add(p.Persistent, c.Keys.PoolUndefine, "undefine")
	return out
}
