//go:build noceph

package ceph

import (
	"context"

	"stowage/model"
)

// Client stands in for the go-ceph client in a build without Ceph.
type Client struct{}

// Supported reports whether this binary can talk to Ceph.
func Supported() bool { return false }

// Connect always fails with ErrNoCeph.
func Connect(context.Context, Config) (*Client, error) { return nil, ErrNoCeph }

// Close does nothing.
func (*Client) Close() {}

// CreateImage always fails with ErrNoCeph.
func (*Client) CreateImage(string, string, uint64) error { return ErrNoCeph }

// CreateImageWithoutDiff always fails with ErrNoCeph.
func (*Client) CreateImageWithoutDiff(string, string, uint64) error { return ErrNoCeph }

// RemoveImage always fails with ErrNoCeph.
func (*Client) RemoveImage(string, string) error { return ErrNoCeph }

// ImageID always fails with ErrNoCeph.
func (*Client) ImageID(string, string) (string, error) { return "", ErrNoCeph }

// RemoveImageIfID always fails with ErrNoCeph.
func (*Client) RemoveImageIfID(string, string, string) error { return ErrNoCeph }

// ImageNames always fails with ErrNoCeph.
func (*Client) ImageNames(string) ([]string, error) { return nil, ErrNoCeph }

// ImageSize always fails with ErrNoCeph.
func (*Client) ImageSize(string, string) (uint64, error) { return 0, ErrNoCeph }

// FormatLUKS always fails with ErrNoCeph.
func (*Client) FormatLUKS(string, string, string, []byte) error { return ErrNoCeph }

// ReadImageHead always fails with ErrNoCeph.
func (*Client) ReadImageHead(string, string, int) ([]byte, error) { return nil, ErrNoCeph }

// Diagnose always fails with ErrNoCeph.
func Diagnose(context.Context, Config, DoctorOptions) ([]model.Finding, error) {
	return nil, ErrNoCeph
}

// Health always fails with ErrNoCeph.
func (*Client) Health(context.Context) (model.CephHealth, error) {
	return model.CephHealth{}, ErrNoCeph
}

// Cluster always fails with ErrNoCeph.
func (*Client) Cluster(context.Context) (model.CephCluster, error) {
	return model.CephCluster{}, ErrNoCeph
}

// Blocklist always fails with ErrNoCeph.
func (*Client) Blocklist(context.Context) ([]model.CephBlocklistEntry, error) {
	return nil, ErrNoCeph
}

// UserCaps always fails with ErrNoCeph.
func (*Client) UserCaps(context.Context, string) (model.CephUserCaps, error) {
	return model.CephUserCaps{}, ErrNoCeph
}

// Images always fails with ErrNoCeph.
func (*Client) Images(context.Context, string) ([]model.RBDImage, error) { return nil, ErrNoCeph }

// Image always fails with ErrNoCeph.
func (*Client) Image(string, string) (model.RBDImage, error) { return model.RBDImage{}, ErrNoCeph }

// BreakLock always fails with ErrNoCeph.
func (*Client) BreakLock(context.Context, string, string, string, string) error { return ErrNoCeph }
