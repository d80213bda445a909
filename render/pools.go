package render

import (
	"fmt"
	"strings"

	"stowage/model"
)

// PoolsTitle names the pools screen: on one host (its URI), or on all
// (uri "").
func PoolsTitle(uri string) string {
	if uri == "" {
		return "pools"
	}
	return "pools on " + model.SafeText(uri)
}

// PoolColumns are the console's pools table.
func PoolColumns() []string {
	return []string{"POOL", "TYPE", "STATE", "AUTO", "PERS", "CAPACITY", "ALLOC", "AVAIL", "USAGE",
		"CAN CREATE DRIVES", "ENCRYPTION"}
}

// PoolRow is a pool's row in the console. wizardKey is the key of the
// LVM-on-iSCSI wizard where the console offers it for this pool (an
// iSCSI pool, outside --readonly), else "".
func PoolRow(p model.PoolInfo, wizardKey string) Row {
	mark := Plain
	if !p.Active {
		mark = Idle
	}
	return Row{Mark: mark, Cells: cells(p.Name, string(p.Type), poolState(p), yesNo(p.Autostart), yesNo(p.Persistent),
		size(p.Capacity), size(p.Allocation), size(p.Available), bar(p.Allocation, p.Capacity, 10),
		canCreate(p, wizardKey), poolEncryption(p))}
}

// PoolDetail spells out a pool's create ability in full, for the line
// under the table (the cell cuts long reasons).
func PoolDetail(p model.PoolInfo, wizardKey string) string {
	return model.SafeText(p.Name + ": can create drives: " + canCreate(p, wizardKey) + ". Encryption: " + poolEncryption(p) + ".")
}

// Offer is a key the console offers and what it does.
type Offer struct{ Key, Desc string }

// PoolsEmpty is what the pools screen says without pools: over all hosts
// (scoped false), while the host's pools are read, or on a host without
// any, the first pools it can create (offers) and whether --readonly
// keeps it from creating them.
func PoolsEmpty(scoped, loaded bool, offers []Offer, readonly bool) string {
	switch {
	case !scoped:
		return "No pools on any connected host yet."
	case !loaded:
		return "Reading pools…"
	}
	var b strings.Builder
	b.WriteString("This host has no storage pool yet. Create a first one:\n\n")
	for _, o := range offers {
		fmt.Fprintf(&b, "  %-8s %s\n", model.SafeText(o.Key), model.SafeText(o.Desc))
	}
	if readonly {
		b.WriteString("  (read-only: start stowage without --readonly to create pools)\n")
	}
	return b.String()
}

// canCreate is the "can create drives" label: yes (once started, for an
// inactive pool: drives are only created in a running pool), or no with
// the reason. For an iSCSI pool with the wizard at hand, the reason is
// the way out: its key.
func canCreate(p model.PoolInfo, wizardKey string) string {
	if p.CanCreateVolumes {
		if !p.Active {
			return "yes, once started"
		}
		return "yes"
	}
	if wizardKey != "" {
		return "no: LUNs are made on the target; layer LVM on them: press " + wizardKey + " for the LVM-on-iSCSI wizard"
	}
	return "no: " + p.CreateReason
}

func poolState(p model.PoolInfo) string {
	if p.Active {
		return "active"
	}
	return "inactive"
}

// poolEncryption lists the encryption kinds a pool takes, or "-".
func poolEncryption(p model.PoolInfo) string {
	enc := make([]string, 0, len(p.Encryption))
	for _, e := range p.Encryption {
		enc = append(enc, string(e))
	}
	return dash(strings.Join(enc, ", "))
}

// inventoryPools is the CLI's pools table: sizes in bytes, no usage bar.
func inventoryPools(h model.HostInfo) Table {
	t := Table{Columns: []string{"POOL", "TYPE", "STATE", "AUTOSTART", "PERSISTENT", "CAPACITY", "ALLOCATION", "AVAILABLE",
		"CAN CREATE DRIVES"}}
	for _, p := range h.Pools {
		t.Rows = append(t.Rows, cells(p.Name, string(p.Type), poolState(p), yesNo(p.Autostart), yesNo(p.Persistent),
			exact(p.Capacity), exact(p.Allocation), exact(p.Available), canCreate(p, "")))
	}
	return t
}
