package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"stowage/ceph"
	"stowage/cli/env"
	"stowage/doctor"
	"stowage/libvirtx"
	"stowage/model"
)

// cephCluster is one cluster the host's rbd pools point at, as one cephx
// user reaches it, with the Ceph pools it holds for those libvirt pools.
type cephCluster struct {
	cfg       ceph.Config
	cephPools []string
	libvirt   []model.PoolInfo
}

// cephClusters groups a host's active rbd pools by how stowage reaches
// their cluster (monitors, user, conf). A pool whose access cannot be
// decided (no keyring, say) is a finding naming what is missing.
func cephClusters(ctx context.Context, e *env.Env, c *libvirtx.Conn, h model.HostInfo) ([]*cephCluster, []model.Finding) {
	var out []*cephCluster
	var fs []model.Finding
	byKey := map[string]*cephCluster{}
	for _, p := range h.Pools {
		if p.Type != model.PoolRBD || !p.Active {
			continue
		}
		cfg, err := e.CephConfig(ctx, c, p.Pool, h.URI, "", "")
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
		cfg.Timeout = e.Timeout
		key := strings.Join(cfg.Monitors, ",") + "|" + cfg.User + "|" + cfg.ConfFile + "|" + cfg.Keyring
		cl := byKey[key]
		if cl == nil {
			cl = &cephCluster{cfg: cfg}
			byKey[key] = cl
			out = append(out, cl)
		} else {
			clear(cfg.Key)
		}
		if !slices.Contains(cl.cephPools, p.SourceName) {
			cl.cephPools = append(cl.cephPools, p.SourceName)
		}
		cl.libvirt = append(cl.libvirt, p)
	}
	return out, fs
}

// diagnoseCeph runs the Ceph checks for every cluster a host's rbd pools
// point at, and ties each finding about an image to the libvirt pool and
// the VMs that use it.
func diagnoseCeph(ctx context.Context, e *env.Env, c *libvirtx.Conn, h model.HostInfo) []model.Finding {
	if testDriver(h.URI) {
		return nil
	}
	clusters, out := cephClusters(ctx, e, c, h)
	for _, cl := range clusters {
		o := ceph.DoctorOptions{Pools: cl.cephPools}
		if admin, ok := env.CephAdmin(cl.cfg); ok && cl.cfg.User != "admin" {
			o.Admin = admin
		}
		fs, err := ceph.Diagnose(ctx, cl.cfg, o)
		clear(cl.cfg.Key)
		if err != nil {
			fs = append(fs, model.Finding{
				Severity: model.SeverityWarning, Object: "ceph cluster of pool " + cl.libvirt[0].Name, Check: "ceph.partial",
				Message:  "Some Ceph checks could not run, so this report may miss what they look for.",
				Evidence: err.Error(),
			})
		}
		for i := range fs {
			linkImage(&fs[i], h, cl.libvirt)
		}
		out = append(out, fs...)
	}
	return out
}

// testDriver reports whether uri is libvirt's test driver, whose pools
// are canned: its rbd pools point at no cluster and its storage sources
// are made up, so the probes and Ceph checks have nothing to look at.
func testDriver(uri string) bool {
	return strings.HasPrefix(uri, "test:") || strings.HasPrefix(uri, "test+")
}

// linkImage adds the libvirt side to a finding about an RBD image: the
// pool and drive it is in, the VMs that use it, and the stowage fix with
// this host's URI.
func linkImage(f *model.Finding, h model.HostInfo, pools []model.PoolInfo) {
	spec, ok := strings.CutPrefix(f.Object, "rbd image ")
	if !ok {
		return
	}
	f.Related = append(f.Related, "image:"+spec)
	cephPool, image, _ := strings.Cut(spec, "/")
	var users []string
	for _, p := range pools {
		if p.SourceName != cephPool {
			continue
		}
		f.Related = append(f.Related, "pool:"+p.Name, "drive:"+p.Name+"/"+image)
		for _, v := range p.Volumes {
			if v.Name != image {
				continue
			}
			for _, a := range v.AttachedTo {
				f.Related = append(f.Related, "vm:"+a.VM)
				users = append(users, a.VM)
			}
		}
	}
	if len(users) > 0 {
		f.Message += fmt.Sprintf(" It is a disk of VM %s.", strings.Join(users, ", "))
	}
	if a := f.Action; a != nil && a.Kind == model.FixBreakLock {
		a.Host = h.URI
		f.Fix = fmt.Sprintf("stowage doctor --uri %s --fix %s --confirm %s; by hand: `rbd lock rm %s %s %s`",
			doctor.Shell(h.URI), doctor.Shell(a.Kind+":"+a.Target), doctor.Shell(a.Target),
			doctor.Shell(a.Target), doctor.Shell(a.Detail["cookie"]), doctor.Shell(a.Detail["locker"]))
	}
}
