package render

import (
	"fmt"
	"strings"

	"stowage/model"
)

// VolumesTitle names the volumes screen: all volumes (pool ""), or one
// pool's; for a pool larger than libvirt can list (p, when known), it
// says how many volumes are missing from the rows.
func VolumesTitle(pool string, p *model.PoolInfo) string {
	if pool == "" {
		return "volumes"
	}
	if p != nil && p.VolumesNotListed > 0 {
		return model.SafeText(fmt.Sprintf("%s (%d volumes not listed: libvirt lists at most %d of a pool)",
			p.Name, p.VolumesNotListed, model.VolumeListMax))
	}
	return model.SafeText(pool)
}

// VolumeColumns are the console's volumes table.
func VolumeColumns() []string {
	return []string{"VOLUME", "POOL", "CAPACITY", "ALLOC", "FORMAT", "ENCRYPTION", "SECRET", "ATTACHED TO"}
}

// VolumeRow is a volume's row in the console; its sizes read "…" until
// the volume's XML has been read.
func VolumeRow(pool string, v model.VolumeInfo) Row {
	secret, mark := secretLabel(v.SecretState)
	capacity, alloc := "…", "…"
	if v.Loaded {
		capacity, alloc = size(v.Capacity), size(v.Allocation)
	}
	return Row{Mark: mark, Cells: cells(v.Name, pool, capacity, alloc, dash(v.Format), volumeEncryption(v), secret,
		attached(v.AttachedTo))}
}

// VolumesEmpty explains an empty volumes screen: an inactive pool, one
// whose volumes are still being listed (p, when the screen is one pool's),
// or nothing at all.
func VolumesEmpty(p *model.PoolInfo) string {
	if p != nil {
		switch {
		case !p.Active:
			return model.SafeText("The pool is inactive: its volumes are unknown until it is started (virsh pool-start " + p.Name + ").")
		case !p.VolumesLoaded:
			return "Listing volumes…"
		}
	}
	return "No volumes."
}

// volumeEncryption is "luks (qemu)", "luks2 (librbd, VM disk)" (known from
// the disk of a VM that uses it) or "-".
func volumeEncryption(v model.VolumeInfo) string {
	switch {
	case v.Encryption != nil:
		return v.Encryption.Label()
	case v.DiskEncryption != nil:
		return strings.TrimSuffix(v.DiskEncryption.Label(), ")") + ", VM disk)"
	}
	return "-"
}

// attached is "vm1:vdb, vm2:vdc" or "-".
func attached(as []model.Attachment) string {
	parts := make([]string, 0, len(as))
	for _, a := range as {
		parts = append(parts, a.VM+":"+a.Target)
	}
	return dash(strings.Join(parts, ", "))
}

// secretLabel words a volume's secret state for admins.
func secretLabel(s model.SecretState) (string, Mark) {
	switch s {
	case model.SecretPresent:
		return "present", Plain
	case model.SecretNoValue:
		return "no value!", Attention
	case model.SecretPrivate:
		return "present (private)", Plain
	case model.SecretMissing:
		return "MISSING", Broken
	case model.SecretUnknown:
		return "unknown", Plain
	}
	return "-", Plain
}

// inventoryVolumes is the CLI's volumes table: sizes in bytes.
func inventoryVolumes(h model.HostInfo) Table {
	t := Table{Columns: []string{"VOLUME", "POOL", "CAPACITY", "ALLOCATION", "FORMAT", "ENCRYPTION", "SECRET", "ATTACHED TO"}}
	for _, p := range h.Pools {
		for _, v := range p.Volumes {
			secret, _ := secretLabel(v.SecretState)
			t.Rows = append(t.Rows, cells(v.Name, p.Name, exact(v.Capacity), exact(v.Allocation), dash(v.Format),
				volumeEncryption(v), secret, attached(v.AttachedTo)))
		}
	}
	return t
}
