package render

import "stowage/model"

// VMsTitle names the VMs screen; VMsEmpty is what it says without any.
const (
	VMsTitle = "VMs"
	VMsEmpty = "No VMs defined."
)

// VMColumns are the console's VMs table: one row per disk.
func VMColumns() []string {
	return []string{"VM", "STATE", "DISK", "BUS", "DEVICE", "SOURCE", "ENCRYPTION"}
}

// VMRow is one disk of a VM in the console, or (k nil) the one row of a
// VM without disks.
func VMRow(d model.Domain, k *model.Disk) Row {
	mark := Plain
	if d.State != "running" {
		mark = Idle
	}
	if k == nil {
		return Row{Mark: mark, Cells: cells(d.Name, d.State, "-", "-", "-", "-", "-")}
	}
	return Row{Mark: mark, Cells: cells(d.Name, d.State, k.Target, k.Bus, k.Device, dash(k.Source), k.Encryption.Label())}
}

// inventoryVMs is the CLI's VMs table (no DEVICE column).
func inventoryVMs(h model.HostInfo) Table {
	t := Table{Columns: []string{"VM", "STATE", "DISK", "BUS", "SOURCE", "ENCRYPTION"}}
	for _, d := range h.Domains {
		if len(d.Disks) == 0 {
			t.Rows = append(t.Rows, cells(d.Name, d.State, "-", "-", "-", "-"))
		}
		for _, k := range d.Disks {
			t.Rows = append(t.Rows, cells(d.Name, d.State, k.Target, k.Bus, dash(k.Source), k.Encryption.Label()))
		}
	}
	return t
}
