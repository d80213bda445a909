package model

import (
	"errors"
	"fmt"
)

// VolumeListMax is libvirt's REMOTE_STORAGE_VOL_LIST_MAX: no RPC returns
// more of one pool's volumes than this, and libvirt has no paging.
const VolumeListMax = 16384

// ListLimitError says a pool holds more volumes than libvirt's RPC lists:
// Listed of them are known, the others cannot be named by any client.
type ListLimitError struct {
	Pool          string
	Total, Listed int
}

func (e *ListLimitError) Error() string {
	return fmt.Sprintf("pool %q holds %d volumes, but libvirt lists at most %d of a pool over its RPC "+
		"(REMOTE_STORAGE_VOL_LIST_MAX, no paging): %d are shown, %d are not (virsh vol-list fails on this pool altogether; "+
		"split the volumes over several pools)", e.Pool, e.Total, VolumeListMax, e.Listed, e.Total-e.Listed)
}

// IsListLimit reports whether err is a *ListLimitError: the list is
// partial but what it holds is good.
func IsListLimit(err error) bool {
	var le *ListLimitError
	return errors.As(err, &le)
}
