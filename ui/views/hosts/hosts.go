// Package hosts is the hosts view: each host's connection state, versions
// and counts; Enter opens its pools. It imports ui/views/kind and libvirtx
// types only.
package hosts

import (
	"fmt"
	"time"

	"stowage/model"
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
func (Kind) Title(kind.Ctx) string { return "hosts" }

// Columns are the hosts table's columns.
func (Kind) Columns(kind.Ctx) []table.Column {
	return []table.Column{{Title: "HOST", Width: 24, Flex: true}, {Title: "STATE", Width: 12}, {Title: "LIBVIRT", Width: 8},
		{Title: "HYPERVISOR", Width: 10}, {Title: "POOLS", Width: 5, Right: true}, {Title: "VMS", Width: 4, Right: true},
		{Title: "DETAIL", Width: 30, Flex: true}}
}

// State is a host's state word and detail line.
func State(h data.Host, now time.Time) (string, string, table.Tone) {
	st := h.Status
	switch {
	case st.State == model.StateDisconnected:
		d := st.Reason
		if !st.NextRetry.IsZero() {
			d = fmt.Sprintf("retry in %s: %s", st.NextRetry.Sub(now).Round(time.Second), st.Reason)
		}
		return "disconnected", d, table.Bad
	case st.State == model.StateDegraded:
		return "degraded", st.Reason, table.Warn
	case h.Loaded && st.State == model.StateConnected:
		d := ""
		if n := len(h.Info.Errors); n > 0 {
			return "connected", h.Info.Errors[n-1], table.Warn
		}
		return "connected", d, table.Good
	}
	return "connecting", "", table.Muted
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
		state, detail, tone := State(h, now)
		out = append(out, table.Row{Key: kind.RowKey(i, ""), Tone: tone, Cells: []string{
			h.URI, state, kind.Dash(h.Info.LibvirtVersion), kind.Dash(h.Info.HypervisorVersion),
			fmt.Sprint(len(h.Info.Pools)), fmt.Sprint(len(h.Info.Domains)), detail}})
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

// Actions: the LVM-on-iSCSI wizard on a connected host.
func (Kind) Actions(c kind.Ctx, k string) []kind.Action {
	if k == "" || c.Actions.LVMOnISCSI == nil {
		return nil
	}
	h, _ := kind.SplitKey(k)
	if c.Store.Hosts[h].Status.State != model.StateConnected {
		return nil
	}
	open := c.Actions.LVMOnISCSI
	uri := c.Store.Hosts[h].URI
	return []kind.Action{{Binding: c.Keys.LVMOnISCSI, Open: func() common.Component {
		return open(common.DriveTarget{HostURI: uri})
	}}}
}

// Empty never happens: there is always at least one host.
func (Kind) Empty(kind.Ctx) string { return "" }
