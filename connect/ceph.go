package connect

import (
	"context"
	"errors"

	"stowage/ceph"
	"stowage/libvirtx"
	"stowage/model"
)

// CephAccess decides how the console reaches the Ceph cluster behind rbd
// pool p of host uri on libvirt connection conn (cli/env's
// Env.CephConfig, set where the console is built, so that connect needs
// no config of its own). A key read from libvirt is in Config.Key.
type CephAccess func(ctx context.Context, conn *libvirtx.Conn, uri string, p model.Pool) (ceph.Config, error)

// Ceph reads the clusters host i's active rbd pools point at, the same
// gathering as `stowage inventory --ceph` (ceph.HostViews): a fresh
// inventory on a connection of its own (a refresh cancelled meanwhile
// cuts the session's), then each cluster bounded by the connection's
// timeout. A cluster that cannot be read is a view with its Errors.
func (l *Hosts) Ceph(ctx context.Context, i int) ([]model.CephView, error) {
	if l.CephAccess == nil {
		return nil, errors.New("this console was built without Ceph access")
	}
	uri := l.sessions[i].URI
	c, err := libvirtx.DialOwned(ctx, uri, l.opts)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	h := c.Inventory(ctx)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	access := func(ctx context.Context, p model.Pool) (ceph.Config, error) { return l.CephAccess(ctx, c, uri, p) }
	return ceph.HostViews(ctx, h, access, l.opts.Timeout), nil
}
