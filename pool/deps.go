package pool

import (
	"context"
	"log/slog"

	"stowage/model"
	"stowage/plan"
)

// Libvirt is what the pool actions need of one host, in model types;
// *libvirtx.Conn has it (libvirtx.go). Lookups of what the host does not
// have fail with errors matching model.ErrNotFound. The …If calls act on
// the pool with that UUID only while it has that name, and fail wrapping
// plan.ErrNotOurs otherwise.
type Libvirt interface {
	Pool(ctx context.Context, name string) (model.Pool, error)
	VolumeNames(ctx context.Context, pool string) ([]string, error)
	DomainNames(ctx context.Context) ([]string, error)
	Domain(ctx context.Context, name string, inactive bool) (model.Domain, error)

	PoolStartIf(ctx context.Context, name, uuid string) error
	PoolStopIf(ctx context.Context, name, uuid string) error
	PoolRefreshIf(ctx context.Context, name, uuid string) error
	PoolAutostartIf(ctx context.Context, name, uuid string, on bool) error
	PoolBuildIf(ctx context.Context, name, uuid string, overwrite, guard bool) error
	PoolDeleteIf(ctx context.Context, name, uuid string) error
	PoolUndefineIf(ctx context.Context, name, uuid string) error
}

// Peer is another connected host.
type Peer struct {
	Host    string
	Libvirt Libvirt
	// Err is why the host could not be reached (then Libvirt is nil): the
	// user checks on shared storage refuse rather than guess.
	Err error
}

// Deps are the actions' dependencies, passed explicitly.
type Deps struct {
	Libvirt Libvirt
	// Host names the host in the audit log and in messages (its URI).
	Host string
	// Peers are the other connected hosts (the console's): a pool on
	// shared storage is checked for VMs there too. Nil: this host only.
	Peers []Peer
	// ReadOnly refuses every action (--readonly), audited.
	ReadOnly bool
	// Audit receives one record per mutation and refusal; nil writes none.
	Audit *plan.Audit
	// Log is stowage's own log; nil discards.
	Log *slog.Logger
}

func (d Deps) runner(events chan<- plan.Event) plan.Runner {
	return plan.Runner{Host: d.Host, Audit: d.Audit, Log: d.Log, Events: events}
}
