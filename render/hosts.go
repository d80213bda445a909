package render

import (
	"fmt"
	"strconv"
	"time"

	"stowage/model"
)

// HostsTitle names the hosts screen.
const HostsTitle = "hosts"

// HostColumns are the console's hosts table.
func HostColumns() []string {
	return []string{HostColumn, "STATE", "LIBVIRT", "HYPERVISOR", "POOLS", "VMS", "DETAIL"}
}

// HostRow is a host's row in the console: its state (loaded: a refresh
// has finished), versions, counts, and what its state needs said.
func HostRow(uri string, st model.Status, loaded bool, info model.HostInfo, now time.Time) Row {
	state, detail, mark := hostState(st, loaded, info.Errors, now)
	return Row{Mark: mark, Cells: cells(uri, state, dash(info.LibvirtVersion), dash(info.HypervisorVersion),
		strconv.Itoa(len(info.Pools)), strconv.Itoa(len(info.Domains)), detail)}
}

// hostState is a host's state word, its detail and its mark. A connected
// host reads "connecting" until its first refresh ends; the detail of a
// connected one is its last error, if a part could not be read.
func hostState(st model.Status, loaded bool, errs []string, now time.Time) (string, string, Mark) {
	switch {
	case st.State == model.StateDisconnected:
		d := st.Reason
		if !st.NextRetry.IsZero() {
			d = fmt.Sprintf("retry in %s: %s", st.NextRetry.Sub(now).Round(time.Second), st.Reason)
		}
		return "disconnected", d, Broken
	case st.State == model.StateDegraded:
		return "degraded", st.Reason, Attention
	case loaded && st.State == model.StateConnected:
		if n := len(errs); n > 0 {
			return "connected", errs[n-1], Attention
		}
		return "connected", "", Fine
	}
	return "connecting", "", Idle
}

// hostHeading is the line `stowage inventory` starts a host with.
func hostHeading(h model.HostInfo) string {
	return fmt.Sprintf("HOST %s  libvirt %s, hypervisor %s",
		model.SafeText(h.URI), model.SafeText(h.LibvirtVersion), model.SafeText(h.HypervisorVersion))
}
