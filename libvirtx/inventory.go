package libvirtx

import (
	"context"
	"errors"

	"stowage/model"
)

// Stream reads a host's inventory and sends each part on out as soon as it
// is read; every call is pipelined on the one connection.
// Errors travel in parts; Stream returns when everything was sent.
func (c *Conn) Stream(ctx context.Context, o model.StreamOptions, out chan<- model.Part) {
	send := func(p model.Part) {
		select {
		case out <- p:
		case <-ctx.Done():
		}
	}
	if o.DomainsOnly {
		ds, err := c.Domains(ctx)
		send(model.Part{Kind: model.PartDomains, Domains: ds, Err: err})
		return
	}
	parallel(4, 4, func(i int) {
		switch i {
		case 0:
			lib, hv, err := c.Versions(ctx)
			send(model.Part{Kind: model.PartVersions, Lib: lib, HV: hv, Err: err})
		case 1:
			c.streamPools(ctx, o, send)
		case 2:
			ds, err := c.Domains(ctx)
			send(model.Part{Kind: model.PartDomains, Domains: ds, Err: err})
		case 3:
			ss, err := c.Secrets(ctx)
			if errors.Is(err, ErrNoSecretAPI) {
				send(model.Part{Kind: model.PartSecrets, Secrets: []model.SecretInfo{}, NoSecretAPI: true})
				return
			}
			send(model.Part{Kind: model.PartSecrets, Secrets: ss, Err: err})
		}
	})
}

func (c *Conn) streamPools(ctx context.Context, o model.StreamOptions, send func(model.Part)) {
	var caps model.PoolCaps
	var capsErr error
	var pools []model.Pool
	var poolsErr error
	parallel(2, 2, func(i int) {
		if i == 0 {
			caps, capsErr = c.PoolCapabilities(ctx)
		} else {
			pools, poolsErr = c.Pools(ctx)
		}
	})
	if poolsErr == nil && capsErr != nil {
		poolsErr = capsErr
	}
	send(model.Part{Kind: model.PartPools, Caps: caps, Pools: pools, Err: poolsErr})
	if poolsErr != nil {
		return
	}
	parallel(len(pools), 8, func(i int) {
		p := pools[i]
		if !p.Active {
			send(model.Part{Kind: model.PartVolumeNames, Pool: p.Name, Names: []string{}})
			return
		}
		names, handles, err := c.volumeHandles(ctx, p.Name)
		send(model.Part{Kind: model.PartVolumeNames, Pool: p.Name, Names: names, Err: err})
		if (err != nil && !model.IsListLimit(err)) || (o.KeepVolumes != nil && o.KeepVolumes(p, names)) {
			return
		}
		vols, err := c.volumesOf(ctx, p.Name, handles)
		send(model.Part{Kind: model.PartVolumes, Pool: p.Name, Volumes: vols, Err: err})
	})
}

// Inventory reads a whole host: the same data as the console.
func (c *Conn) Inventory(ctx context.Context) model.HostInfo {
	h := model.HostInfo{URI: c.Target.Raw, Name: c.Target.Name()}
	ch := make(chan model.Part, 64)
	go func() {
		c.Stream(ctx, model.StreamOptions{}, ch)
		close(ch)
	}()
	for p := range ch {
		h.Apply(p)
	}
	h.Link()
	return h
}
