// Package pools is the pools view: state, sizes with a usage bar, whether
// drives can be created and why not, and the encryption each pool takes.
// When a connected host has no pool it offers a first dir or rbd pool, or
// the LVM-on-iSCSI wizard. It imports ui/views/kind and libvirtx types.
package pools

import (
	"fmt"
	"strings"

	"stowage/model"
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
		return "pools on " + c.Store.Hosts[c.Scope.Host].URI
	}
	return "pools"
}

// Columns are the pools table's columns.
func (Kind) Columns(c kind.Ctx) []table.Column {
	cols := []table.Column{{Title: "POOL", Width: 18, Flex: true}, {Title: "TYPE", Width: 12}, {Title: "STATE", Width: 8},
		{Title: "AUTO", Width: 4}, {Title: "PERS", Width: 4}, {Title: "CAPACITY", Width: 9, Right: true},
		{Title: "ALLOC", Width: 9, Right: true}, {Title: "AVAIL", Width: 9, Right: true}, {Title: "USAGE", Width: 15},
		{Title: "CAN CREATE DRIVES", Width: 24, Flex: true}, {Title: "ENCRYPTION", Width: 14}}
	if c.MultiHost() {
		cols = append([]table.Column{{Title: "HOST", Width: 16}}, cols...)
	}
	return cols
}

// CreateLabel is the "can create drives" cell: yes, or no with the reason
// and, for iSCSI pools where the wizard is available, its key.
func CreateLabel(p model.PoolInfo, km keys.Map, acts common.Actions) string {
	if p.CanCreateVolumes {
		if !p.Active {
			return "yes, once started"
		}
		return "yes"
	}
	why := p.CreateReason
	if isISCSI(p.Type) && acts.LVMOnISCSI != nil {
		why = "LUNs are made on the target; layer LVM on them: press " + km.LVMOnISCSI.Help().Key + " for the LVM-on-iSCSI wizard"
	}
	return "no: " + why
}

// Detail spells out the selected pool's create ability in full.
func (Kind) Detail(c kind.Ctx, k string) string {
	_, p := find(c, k)
	if p == nil {
		return ""
	}
	enc := make([]string, 0, len(p.Encryption))
	for _, e := range p.Encryption {
		enc = append(enc, string(e))
	}
	return p.Name + ": can create drives: " + CreateLabel(*p, c.Keys, c.Actions) + ". Encryption: " + kind.Dash(strings.Join(enc, ", ")) + "."
}

func isISCSI(t model.PoolType) bool { return t == model.PoolISCSI || t == model.PoolISCSIDirect }

// Rows lists the pools in scope.
func (Kind) Rows(c kind.Ctx) []table.Row {
	var out []table.Row
	for _, i := range c.Hosts() {
		for _, p := range c.Store.Hosts[i].Info.Pools {
			enc := make([]string, 0, len(p.Encryption))
			for _, e := range p.Encryption {
				enc = append(enc, string(e))
			}
			tone := table.Normal
			if !p.Active {
				tone = table.Muted
			}
			cells := []string{p.Name, string(p.Type), map[bool]string{true: "active", false: "inactive"}[p.Active],
				kind.YesNo(p.Autostart), kind.YesNo(p.Persistent), kind.Bytes(p.Capacity), kind.Bytes(p.Allocation),
				kind.Bytes(p.Available), kind.Bar(p.Allocation, p.Capacity, 10), CreateLabel(p, c.Keys, c.Actions),
				kind.Dash(strings.Join(enc, ", "))}
			sortk := []string{"", "", "", "", "", kind.SortBytes(p.Capacity), kind.SortBytes(p.Allocation), kind.SortBytes(p.Available),
				fmt.Sprintf("%020d", usagePermille(p))}
			if c.MultiHost() {
				cells = append([]string{c.HostName(i)}, cells...)
				sortk = append([]string{""}, sortk...)
			}
			out = append(out, table.Row{Key: kind.RowKey(i, p.Name), Cells: cells, Sort: sortk, Tone: tone})
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
// pool; a first pool where the host has none.
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
		return out
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
	return out
}

// Empty offers a first pool on a host without any.
func (k Kind) Empty(c kind.Ctx) string {
	if c.Scope.Host < 0 {
		return "No pools on any connected host yet."
	}
	h := c.Store.Hosts[c.Scope.Host]
	if !h.Loaded {
		return "Reading pools…"
	}
	var b strings.Builder
	b.WriteString("This host has no storage pool yet. Create a first one:\n\n")
	for _, a := range k.Actions(c, "") {
		fmt.Fprintf(&b, "  %-8s %s\n", a.Binding.Help().Key, a.Binding.Help().Desc)
	}
	if c.NewPool == nil {
		b.WriteString("  (read-only: start stowage without --readonly to create pools)\n")
	}
	return b.String()
}
