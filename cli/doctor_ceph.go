package cli

import (
	"context"
	"fmt"
	"strings"

	"stowage/ceph"
	"stowage/cli/env"
	"stowage/doctor"
	"stowage/libvirtx"
	"stowage/model"
)

// cephAccess is how stowage reaches the Ceph behind host uri's rbd pools
// on libvirt connection c (config.yaml, then librados's conventions).
func cephAccess(e *env.Env, c *libvirtx.Conn, uri string) ceph.Access {
	return func(ctx context.Context, p model.Pool) (ceph.Config, error) {
		return e.CephConfig(ctx, c, p, uri, "", "")
	}
}

// diagnoseCeph runs the Ceph checks for every cluster a host's rbd pools
// point at, and ties each finding about an image to the libvirt pool and
// the VMs that use it.
func diagnoseCeph(ctx context.Context, e *env.Env, c *libvirtx.Conn, h model.HostInfo) []model.Finding {
	if testDriver(h.URI) {
		return nil
	}
	clusters, out := ceph.HostClusters(ctx, h, cephAccess(e, c, h.URI), e.Timeout)
	for _, cl := range clusters {
		o := ceph.DoctorOptions{Pools: cl.CephPools}
		if admin, ok := env.CephAdmin(cl.Config); ok && cl.Config.User != "admin" {
			o.Admin = admin
		}
		fs, err := ceph.Diagnose(ctx, cl.Config, o)
		clear(cl.Config.Key)
		if err != nil {
			fs = append(fs, model.Finding{
				Severity: model.SeverityWarning, Object: "ceph cluster of pool " + cl.Libvirt[0].Name, Check: "ceph.partial",
				Message:  "Some Ceph checks could not run, so this report may miss what they look for.",
				Evidence: err.Error(),
			})
		}
		for i := range fs {
			linkImage(&fs[i], h, cl.Libvirt)
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
