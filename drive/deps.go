package drive

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"time"

	"stowage/model"
)

// Libvirt is what the workflows need of one host, in model types;
// *libvirtx.Conn has it (libvirtx.go). Lookups of what the host does not
// have fail with errors matching model.ErrNotFound.
type Libvirt interface {
	Versions(ctx context.Context) (lib, hv string, err error)
	Pools(ctx context.Context) ([]model.Pool, error)
	Pool(ctx context.Context, name string) (model.Pool, error)
	Volumes(ctx context.Context, pool string) ([]model.Volume, error)
	VolumeNames(ctx context.Context, pool string) ([]string, error)
	Volume(ctx context.Context, pool, name string) (model.Volume, error)
	CreateVolumeWatched(ctx context.Context, pool string, s model.VolumeSpec, ci *model.Cipher, w model.CreateWatch) (model.Volume, error)
	DeleteVolumeIf(ctx context.Context, pool, name string, check func(model.Volume) error) error
	VolumeKeyByPath(ctx context.Context, path string) (key string, ok bool, err error)
	RefreshPool(ctx context.Context, pool string) error
	DefineVolumeSecret(ctx context.Context, usage, description string) (string, error)
	SetSecretValue(ctx context.Context, uuid string, value []byte) error
	UndefineSecret(ctx context.Context, uuid string) error
	Secret(ctx context.Context, uuid string) (model.Secret, error)
	SecretByVolumeUsage(ctx context.Context, usage string) (string, bool, error)
	SecretValue(ctx context.Context, uuid string) ([]byte, error)
	DomainNames(ctx context.Context) ([]string, error)
	Domain(ctx context.Context, name string, inactive bool) (model.Domain, error)
	AttachDisk(ctx context.Context, vm string, s model.DiskSpec, live, persistent bool) error
	DetachDisk(ctx context.Context, vm, target string, live, persistent bool, wait time.Duration) (model.DetachResult, error)
}

// Peer is another connected host.
type Peer struct {
	Host    string
	Libvirt Libvirt
	// Err is why the host could not be reached (then Libvirt is nil):
	// checks that need it refuse rather than guess.
	Err error
}

// Ceph is what the workflows need of a cluster; *ceph.Client has it.
type Ceph interface {
	CreateImage(pool, name string, size uint64) error
	FormatLUKS(pool, name, format string, passphrase []byte) error
	// ImageID is the image's id (RBD's identity for it); RemoveImageIfID
	// removes the image only while it has that id.
	ImageID(pool, name string) (string, error)
	RemoveImageIfID(pool, name, id string) error
	Close()
}

// CephDialer connects to the cluster behind an rbd pool; nil when this
// host has no way to reach Ceph (then encrypted RBD drives are refused
// with the reason).
type CephDialer func(ctx context.Context, pool model.Pool) (Ceph, error)

// Deps are the workflows' dependencies, passed explicitly.
type Deps struct {
	Libvirt Libvirt
	// Host names the host in the audit log (its URI).
	Host string
	Ceph CephDialer
	// Peers are the other hosts this stowage is connected to (the
	// console's hosts): Delete checks their VMs and volumes before it
	// removes a drive on shared storage or a secret. Nil: this host only.
	Peers []Peer
	// Audit receives one record per mutation; nil writes none.
	Audit *Audit
	// Log is stowage's own log; nil discards.
	Log *slog.Logger
	// Rand is the passphrase source: crypto/rand unless a test injects one.
	Rand io.Reader
	// CreateTimeout bounds one volume creation or LUKS format (default 10m).
	CreateTimeout time.Duration
	// PollInterval is how often allocation is polled (default 250ms).
	PollInterval time.Duration
	// DetachWait is how long a live unplug is awaited after libvirt's own
	// 5 s (default 3s).
	DetachWait time.Duration
	// FailAfter, when set, makes the workflow fail right after that step
	// succeeded (tests of rollback).
	FailAfter model.StepID
}

func (d Deps) withDefaults() Deps {
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.CreateTimeout <= 0 {
		d.CreateTimeout = 10 * time.Minute
	}
	if d.PollInterval <= 0 {
		d.PollInterval = 250 * time.Millisecond
	}
	if d.DetachWait <= 0 {
		d.DetachWait = 3 * time.Second
	}
	return d
}
