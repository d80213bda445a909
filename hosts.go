package main

import (
	"context"
	"sync"

	"stowage/libvirtx"
	"stowage/ui/app"
)

// libvirtHost adapts a libvirtx connection to the console's Host: it dials
// on first use and again after the connection dropped.
type libvirtHost struct {
	uri  string
	opts libvirtx.Options
	mu   sync.Mutex
	conn *libvirtx.Conn
}

func newLibvirtHost(uri string, o libvirtx.Options) *libvirtHost {
	return &libvirtHost{uri: uri, opts: o}
}

func (h *libvirtHost) Name() string { return h.uri }

func (h *libvirtHost) connection(ctx context.Context) (*libvirtx.Conn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conn != nil {
		select {
		case <-h.conn.Disconnected():
			h.conn = nil
		default:
			return h.conn, nil
		}
	}
	c, err := libvirtx.Dial(ctx, h.uri, h.opts)
	if err != nil {
		return nil, err
	}
	h.conn = c
	return c, nil
}

func (h *libvirtHost) Load(ctx context.Context) (app.HostData, error) {
	c, err := h.connection(ctx)
	if err != nil {
		return app.HostData{}, err
	}
	var d app.HostData
	if d.LibvirtVersion, d.HVVersion, err = c.Versions(ctx); err != nil {
		return d, err
	}
	d.Pools, err = c.Pools(ctx)
	return d, err
}
