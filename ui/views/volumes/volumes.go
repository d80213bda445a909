// Package volumes is the volumes view: sizes, format, encryption (format
// and engine), the state of the volume's secret and the VM disks it is
// attached to. Rows appear as soon as the names are listed; sizes follow
// from one XML call per volume. The words come from render. It imports
// render, ui/views/kind and model types; never libvirtx.
package volumes

import (
	"strings"

	"stowage/model"
	"stowage/render"
	"stowage/ui/common"
	"stowage/ui/data"
	"stowage/ui/table"
	"stowage/ui/views/kind"
)

// Kind is the volumes view.
type Kind struct{}

// Name is the palette command.
func (Kind) Name() string { return "volumes" }

// Title names the screen; for a pool larger than libvirt can list, it
// says how many volumes are missing from the rows.
func (Kind) Title(c kind.Ctx) string { return render.VolumesTitle(c.Scope.Pool, scopePool(c)) }

// scopePool is the pool the view is scoped to, or nil.
func scopePool(c kind.Ctx) *model.PoolInfo {
	if c.Scope.Host < 0 || c.Scope.Host >= len(c.Store.Hosts) {
		return nil
	}
	pools := c.Store.Hosts[c.Scope.Host].Info.Pools
	for i := range pools {
		if pools[i].Name == c.Scope.Pool {
			return &pools[i]
		}
	}
	return nil
}

// Columns are the volumes table's columns.
func (Kind) Columns(c kind.Ctx) []table.Column {
	return kind.Columns(c, render.VolumeColumns(), []table.Column{{Width: 20, Flex: true}, {Width: 16},
		{Width: 9, Right: true}, {Width: 9, Right: true}, {Width: 6}, {Width: 14}, {Width: 15}, {Width: 16, Flex: true}})
}

// Rows lists the volumes in scope.
func (Kind) Rows(c kind.Ctx) []table.Row {
	// Sized at once: appending 10,000 rows one by one leaves the slice's
	// smaller copies behind as garbage, on top of the rows they replace.
	n := 0
	for _, i := range c.Hosts() {
		for _, p := range c.Store.Hosts[i].Info.Pools {
			if c.Scope.Pool == "" || p.Name == c.Scope.Pool {
				n += len(p.Volumes)
			}
		}
	}
	out := make([]table.Row, 0, n)
	for _, i := range c.Hosts() {
		for _, p := range c.Store.Hosts[i].Info.Pools {
			if c.Scope.Pool != "" && p.Name != c.Scope.Pool {
				continue
			}
			for _, v := range p.Volumes {
				sortk := []string{"", "", kind.SortBytes(v.Capacity), kind.SortBytes(v.Allocation)}
				out = append(out, kind.Row(c, i, p.Name+"/"+v.Name, render.VolumeRow(p.Name, v), sortk))
			}
		}
	}
	return out
}

func find(c kind.Ctx, k string) (int, *model.PoolInfo, *model.VolumeInfo) {
	if k == "" {
		return 0, nil, nil
	}
	h, id := kind.SplitKey(k)
	pool, name, _ := strings.Cut(id, "/")
	if h >= len(c.Store.Hosts) {
		return h, nil, nil
	}
	for pi := range c.Store.Hosts[h].Info.Pools {
		p := &c.Store.Hosts[h].Info.Pools[pi]
		if p.Name != pool {
			continue
		}
		for vi := range p.Volumes {
			if p.Volumes[vi].Name == name {
				return h, p, &p.Volumes[vi]
			}
		}
	}
	return h, nil, nil
}

// Drill: volumes are leaves.
func (Kind) Drill(kind.Ctx, string) (string, kind.Scope, bool) { return "", kind.Scope{}, false }

// Describe shows the volume's XML.
func (Kind) Describe(c kind.Ctx, k string) (int, data.Object, bool) {
	h, p, v := find(c, k)
	if v == nil {
		return 0, data.Object{}, false
	}
	return h, data.Object{Kind: "volume", Pool: p.Name, Name: v.Name}, true
}

// Actions: create a drive in the pool in scope; attach, delete, clone or
// resize the selected volume (resize only in an active pool: libvirt
// resizes nothing in a stopped one).
func (Kind) Actions(c kind.Ctx, k string) []kind.Action {
	var out []kind.Action
	if f := c.Actions.CreateDrive; f != nil && c.Scope.Host >= 0 && c.Scope.Pool != "" {
		for _, p := range c.Store.Hosts[c.Scope.Host].Info.Pools {
			if p.Name == c.Scope.Pool && p.CanCreateVolumes && p.Active {
				at := common.DriveTarget{HostURI: c.Store.Hosts[c.Scope.Host].URI, Pool: p.Name}
				out = append(out, kind.Action{Binding: c.Keys.CreateDrive, Open: func() common.Component { return f(at) }})
			}
		}
	}
	h, p, v := find(c, k)
	if v == nil {
		return out
	}
	at := common.DriveTarget{HostURI: c.Store.Hosts[h].URI, Pool: p.Name, Volume: v.Name}
	if f := c.Actions.AttachDrive; f != nil {
		out = append(out, kind.Action{Binding: c.Keys.AttachDrive, Open: func() common.Component { return f(at) }})
	}
	if f := c.Actions.DeleteDrive; f != nil {
		out = append(out, kind.Action{Binding: c.Keys.DeleteDrive, Open: func() common.Component { return f(at) }})
	}
	if f := c.Actions.CloneDrive; f != nil {
		out = append(out, kind.Action{Binding: c.Keys.CloneDrive, Open: func() common.Component { return f(at) }})
	}
	if f := c.Actions.ResizeDrive; f != nil && p.Active {
		out = append(out, kind.Action{Binding: c.Keys.ResizeDrive, Open: func() common.Component { return f(at) }})
	}
	out = append(out, transferActions(c, at)...)
	return out
}

// Empty explains an empty or not yet listed pool.
func (Kind) Empty(c kind.Ctx) string { return render.VolumesEmpty(scopePool(c)) }
