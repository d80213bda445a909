package render

import "stowage/model"

// Table is one of `stowage inventory`'s tables: column titles and rows of
// escaped cells, in the console's words (sizes in bytes).
type Table struct {
	Columns []string
	Rows    [][]string
}

// Inventory is one host as `stowage inventory` prints it: a heading line,
// then its pools, volumes, VMs and secrets tables.
func Inventory(h model.HostInfo) (heading string, tables []Table) {
	return hostHeading(h), []Table{inventoryPools(h), inventoryVolumes(h), inventoryVMs(h), inventorySecrets(h)}
}
