// Package vms is the VMs view: each domain's state and, one row per disk,
// its source, bus, target and encryption (QEMU-layer, or librbd inside
// <source>). Domain lifecycle events refresh it at once. The words come
// from render. It imports render, ui/views/kind and model types.
package vms

import (
	"stowage/model"
	"stowage/render"
	"stowage/ui/common"
	"stowage/ui/data"
	"stowage/ui/table"
	"stowage/ui/views/kind"
)

// Kind is the VMs view.
type Kind struct{}

// Name is the palette command.
func (Kind) Name() string { return "vms" }

// Title names the screen.
func (Kind) Title(kind.Ctx) string { return render.VMsTitle }

// Columns are the VMs table's columns.
func (Kind) Columns(c kind.Ctx) []table.Column {
	return kind.Columns(c, render.VMColumns(), []table.Column{{Width: 18, Flex: true}, {Width: 10}, {Width: 5},
		{Width: 6}, {Width: 6}, {Width: 30, Flex: true}, {Width: 16}})
}

// Rows: one per disk (one for a VM without disks).
func (Kind) Rows(c kind.Ctx) []table.Row {
	var out []table.Row
	for _, i := range c.Hosts() {
		for _, d := range c.Store.Hosts[i].Info.Domains {
			if len(d.Disks) == 0 {
				out = append(out, kind.Row(c, i, d.Name+"\x00", render.VMRow(d, nil), nil))
			}
			for k := range d.Disks {
				out = append(out, kind.Row(c, i, d.Name+"\x00"+d.Disks[k].Target, render.VMRow(d, &d.Disks[k]), nil))
			}
		}
	}
	return out
}

func find(c kind.Ctx, k string) (int, *model.Domain, string) {
	if k == "" {
		return 0, nil, ""
	}
	h, id := kind.SplitKey(k)
	name, disk := id, ""
	for i := 0; i < len(id); i++ {
		if id[i] == 0 {
			name, disk = id[:i], id[i+1:]
		}
	}
	if h >= len(c.Store.Hosts) {
		return h, nil, ""
	}
	for i := range c.Store.Hosts[h].Info.Domains {
		if d := &c.Store.Hosts[h].Info.Domains[i]; d.Name == name {
			return h, d, disk
		}
	}
	return h, nil, ""
}

// Drill: VMs are leaves here.
func (Kind) Drill(kind.Ctx, string) (string, kind.Scope, bool) { return "", kind.Scope{}, false }

// Describe shows the domain's XML.
func (Kind) Describe(c kind.Ctx, k string) (int, data.Object, bool) {
	h, d, _ := find(c, k)
	if d == nil {
		return 0, data.Object{}, false
	}
	return h, data.Object{Kind: "domain", Name: d.Name}, true
}

// Actions: create a drive for the VM; detach the selected disk.
func (Kind) Actions(c kind.Ctx, k string) []kind.Action {
	h, d, disk := find(c, k)
	if d == nil {
		return nil
	}
	var out []kind.Action
	at := common.DriveTarget{HostURI: c.Store.Hosts[h].URI, VM: d.Name}
	if f := c.Actions.CreateDrive; f != nil {
		out = append(out, kind.Action{Binding: c.Keys.CreateDrive, Open: func() common.Component { return f(at) }})
	}
	if f := c.Actions.DetachDrive; f != nil && disk != "" {
		dt := at
		dt.Disk = disk
		out = append(out, kind.Action{Binding: c.Keys.DetachDrive, Open: func() common.Component { return f(dt) }})
	}
	return out
}

// Empty says there are no VMs.
func (Kind) Empty(kind.Ctx) string { return render.VMsEmpty }
