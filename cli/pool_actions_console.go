package cli

import (
	"context"

	"stowage/cli/env"
	"stowage/libvirtx"
	"stowage/plan"
	"stowage/pool"
	"stowage/ui/common"
	"stowage/ui/poolaction"
)

// poolBackend adapts package pool on one host to the console's pool
// action screen. The check (Prepare) reads on the console's sessions; the
// action runs on a connection of its own (closed when it ends), as drive
// workflows do: a refresh that times out cuts a session's socket, never
// the one an action and its rollback stand on. The console's other hosts
// are the peers a pool on shared storage is checked against.
type poolBackend struct {
	uri     string
	connect connector
	peers   []string
	env     *env.Env
}

func (b poolBackend) deps(ctx context.Context, c *libvirtx.Conn) pool.Deps {
	d := pool.Deps{Libvirt: c, Host: b.uri, Audit: b.env.Audit, Log: b.env.Log, ReadOnly: b.env.ReadOnly}
	for _, u := range b.peers {
		if u == b.uri {
			continue
		}
		pc, err := b.connect(ctx, u)
		if err != nil {
			d.Peers = append(d.Peers, pool.Peer{Host: u, Err: err})
			continue
		}
		d.Peers = append(d.Peers, pool.Peer{Host: u, Libvirt: pc})
	}
	return d
}

func (b poolBackend) Prepare(ctx context.Context, s pool.Spec) (pool.Prepared, error) {
	c, err := b.connect(ctx, b.uri)
	if err != nil {
		return pool.Prepared{}, err
	}
	return pool.Prepare(ctx, b.deps(ctx, c), s)
}

func (b poolBackend) Run(ctx context.Context, pr pool.Prepared, confirm string, ev chan<- plan.Event) (pool.Result, error) {
	// One call is a whole iSCSI login (start) or a pvcreate over the SAN
	// (build): the per-call bound is the LVM-on-iSCSI wizard's, not the
	// console's 15 s.
	e := b.env
	c, err := libvirtx.DialOwned(ctx, b.uri, libvirtx.Options{Timeout: max(e.Timeout, iscsiCallTimeout), ReadOnly: e.ReadOnly, SSHConfig: e.SSHConfig})
	if err != nil {
		return pool.Result{}, err
	}
	defer c.Close()
	return pool.Run(ctx, b.deps(ctx, c), pr, confirm, ev)
}

// poolActions builds common.Actions.PoolAction: nil under --readonly, so
// the pool keys vanish from the pools view and from `?`.
func poolActions(e *env.Env, connect connector) func(common.DriveTarget, string) common.Component {
	if e.ReadOnly {
		return nil
	}
	d := poolaction.Deps{Styles: e.Styles, Timeout: e.Timeout, Keys: e.Keys,
		Backend: func(uri string) (poolaction.Backend, error) {
			return poolBackend{uri: uri, connect: connect, peers: e.Hosts, env: e}, nil
		}}
	return func(at common.DriveTarget, action string) common.Component { return poolaction.New(d, at, action) }
}
