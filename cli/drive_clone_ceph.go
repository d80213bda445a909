//go:build !noceph

package cli

import (
	"stowage/ceph"
	"stowage/drive"
)

// drive reaches the clone calls through an interface (it must not import
// ceph); this keeps the real client in step with it.
var _ drive.CephCloner = (*ceph.Client)(nil)
