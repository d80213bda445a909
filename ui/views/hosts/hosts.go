// Package hosts is the hosts view: each host's connection state, versions
// and counts (words from render); Enter opens its pools. It imports
// render, ui/views/kind and model types; never libvirtx. Above the table
// it counts the doctor's open findings (kind.Bannered).
package hosts

import (
	"time"

	"stowage/model"
	"stowage/render"
	"stowage/ui/common"
	"stowage/ui/data"
	"stowage/ui/table"
	"stowage/ui/views/kind"
)

// Kind is the hosts view.
type Kind struct {
	// Now is the clock for "next retry in …" (tests fix it).
	Now func() time.Time
}

// Name is the palette command.
func (Kind) Name() string { return "hosts" }

// Title names the screen.
func (Kind) Title(kind.Ctx) string { return render.HostsTitle }

// Columns are the hosts table's columns (the first names the host: no
// HOST column is added over several hosts).
func (Kind) Columns(kind.Ctx) []table.Column {
	return kind.Layout(render.HostColumns(), []table.Column{{Width: 24, Flex: true}, {Width: 12}, {Width: 8},
		{Width: 10}, {Width: 5, Right: true}, {Width: 4, Right: true}, {Width: 30, Flex: true}})
}

// Rows lists the hosts.
func (k Kind) Rows(c kind.Ctx) []table.Row {
	now := time.Now()
	if k.Now != nil {
		now = k.Now()
	}
	var out []table.Row
	for _, i := range c.Hosts() {
		h := c.Store.Hosts[i]
		r := render.HostRow(h.URI, h.Status, h.Loaded, h.Info, now)
		out = append(out, table.Row{Key: kind.RowKey(i, ""), Cells: r.Cells, Tone: kind.Tone(r.Mark)})
	}
	return out
}

// Drill opens the host's pools.
func (Kind) Drill(c kind.Ctx, k string) (string, kind.Scope, bool) {
	if k == "" {
		return "", kind.Scope{}, false
	}
	h, _ := kind.SplitKey(k)
	return "pools", kind.Scope{Host: h}, true
}

// Describe shows the host's storage pool capabilities.
func (Kind) Describe(c kind.Ctx, k string) (int, data.Object, bool) {
	if k == "" {
		return 0, data.Object{}, false
	}
	h, _ := kind.SplitKey(k)
	return h, data.Object{Kind: "host", Name: c.Store.Hosts[h].URI}, true
}

// Actions: the LVM-on-iSCSI wizard and the define-pool form on a
// connected host.
func (Kind) Actions(c kind.Ctx, k string) []kind.Action {
	if k == "" {
		return nil
	}
	h, _ := kind.SplitKey(k)
	if c.Store.Hosts[h].Status.State != model.StateConnected {
		return nil
	}
	at := common.DriveTarget{HostURI: c.Store.Hosts[h].URI}
	var out []kind.Action
	if open := c.Actions.LVMOnISCSI; open != nil {
		out = append(out, kind.Action{Binding: c.Keys.LVMOnISCSI, Open: func() common.Component { return open(at) }})
	}
	if open := c.Actions.DefinePool; open != nil {
		out = append(out, kind.Action{Binding: c.Keys.DefinePool, Open: func() common.Component { return open(at) }})
	}
	return out
}

// Banner counts the doctor's open findings on the hosts in scope, from
// what the store worked out when each host's last refresh completed.
func (Kind) Banner(c kind.Ctx) (string, render.Mark) {
	read := 0
	for _, i := range c.Hosts() {
		if c.Store.Hosts[i].Loaded {
			read++
		}
	}
	open, critical := c.Store.OpenFindings(c.Hosts())
	return render.DoctorBanner(open, critical, read, c.Keys.Diagnose.Help().Key)
}

// Empty never happens: there is always at least one host.
func (Kind) Empty(kind.Ctx) string { return "" }
