package model

// What discovery offers the define-pool form and `stowage pool sources`.

// NFSExport is an export an NFS server offers (find-storage-pool-sources
// netfs).
type NFSExport struct {
	Host string `json:"host"`
	Path string `json:"path"`
}

// BlockDevice is a block device the host has (a node device with the
// storage capability): candidates for a new VG or a disk pool.
type BlockDevice struct {
	Path   string `json:"path"`
	Size   uint64 `json:"size"`
	Model  string `json:"model,omitempty"`
	Vendor string `json:"vendor,omitempty"`
	Serial string `json:"serial,omitempty"`
}
