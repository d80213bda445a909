package ceph

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"stowage/model"
)

// Access decides how stowage reaches the cluster behind one of a host's
// rbd pools (cli/env's Env.CephConfig, bound to the host's libvirt
// connection). A key it reads from libvirt is in Config.Key; the caller
// of HostClusters clears it.
type Access func(ctx context.Context, p model.Pool) (Config, error)

// HostCluster is one cluster a host's rbd pools point at, as one cephx
// user reaches it, with the Ceph pools it holds for those libvirt pools.
type HostCluster struct {
	Config    Config
	CephPools []string
	Libvirt   []model.PoolInfo
}

// HostClusters groups host h's active rbd pools by how stowage reaches
// their cluster (monitors, user, conf, keyring), each bounded by timeout.
// A pool whose access cannot be decided (no keyring, say) is a finding
// naming what is missing. The caller clears every cluster's Config.Key.
// It is the one grouping behind `stowage doctor`, `stowage inventory
// --ceph` and the console's Ceph view.
func HostClusters(ctx context.Context, h model.HostInfo, access Access, timeout time.Duration) ([]*HostCluster, []model.Finding) {
	var out []*HostCluster
	var fs []model.Finding
	byKey := map[string]*HostCluster{}
	for _, p := range h.Pools {
		if p.Type != model.PoolRBD || !p.Active {
			continue
		}
		cfg, err := access(ctx, p.Pool)
		if err != nil {
			fs = append(fs, model.Finding{
				Severity: model.SeverityWarning, Object: fmt.Sprintf("pool %s on %s", p.Name, h.URI), Check: "ceph.access",
				Message:  fmt.Sprintf("stowage cannot reach the Ceph cluster behind pool %s, so its Ceph checks did not run.", p.Name),
				Evidence: err.Error(), Related: []string{"pool:" + p.Name},
				Fix: "give this host ceph_conf and ceph_keyring in config.yaml, or install the pool user's keyring where librados looks",
			})
			continue
		}
		// The configured timeout bounds a dead monitor or a refused key.
		cfg.Timeout = timeout
		key := strings.Join(cfg.Monitors, ",") + "|" + cfg.User + "|" + cfg.ConfFile + "|" + cfg.Keyring
		cl := byKey[key]
		if cl == nil {
			cl = &HostCluster{Config: cfg}
			byKey[key] = cl
			out = append(out, cl)
		} else {
			clear(cfg.Key)
		}
		if !slices.Contains(cl.CephPools, p.SourceName) {
			cl.CephPools = append(cl.CephPools, p.SourceName)
		}
		cl.Libvirt = append(cl.Libvirt, p)
	}
	return out, fs
}

// HostViews reads every cluster host h's active rbd pools point at: its
// facts and the images of the Ceph pools those pools hold, tied to h's
// libvirt pools and VMs (model.LinkCeph). A pool stowage cannot reach, or
// a cluster that does not answer within timeout, is a view with its
// Errors; the rest is read. Every key read is cleared before it returns.
func HostViews(ctx context.Context, h model.HostInfo, access Access, timeout time.Duration) []model.CephView {
	clusters, denied := HostClusters(ctx, h, access, timeout)
	out := []model.CephView{}
	for _, f := range denied {
		out = append(out, model.CephView{Host: h.URI, Images: []model.CephImage{}, Errors: []string{f.Evidence}})
	}
	for _, cl := range clusters {
		out = append(out, hostView(ctx, h, cl))
	}
	return out
}

// hostView reads one cluster; its key is cleared once connected.
func hostView(ctx context.Context, h model.HostInfo, cl *HostCluster) model.CephView {
	v := model.CephView{Host: h.URI, User: "client." + cl.Config.User, Images: []model.CephImage{}}
	conn, err := Connect(ctx, cl.Config)
	clear(cl.Config.Key)
	if err != nil {
		v.Errors = append(v.Errors, err.Error())
		return v
	}
	defer conn.Close()
	if v.Cluster, err = conn.Cluster(ctx); err != nil {
		v.Errors = append(v.Errors, err.Error())
	}
	for _, pool := range cl.CephPools {
		imgs, err := conn.Images(ctx, pool)
		if err != nil {
			v.Errors = append(v.Errors, err.Error())
		}
		v.Images = append(v.Images, model.LinkCeph(h, imgs)...)
	}
	return v
}
