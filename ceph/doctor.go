//go:build !noceph

package ceph

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"syscall"

	"github.com/ceph/go-ceph/rbd"

	"stowage/model"
)

// Diagnose runs the doctor's Ceph checks on one cluster as c.User: the
// monitors answer (else a ceph.monitor finding says why, within
// c.Timeout), health detail, pools near full or near quota, and for each
// of o.Pools its images' stale locks and multiple watchers, blocklisted
// clients tied to the locks they hold, and c.User's caps on those pools
// (from `auth get` through o.Admin when given, else from EPERM on the
// pool). Findings come sorted; the error joins the checks that could not
// run, each naming its cause, and never hides the findings made.
func Diagnose(ctx context.Context, c Config, o DoctorOptions) ([]model.Finding, error) {
	cl, err := Connect(ctx, c)
	if err != nil {
		if c.validate() != nil {
			return nil, err // a caller's mistake, not the cluster's
		}
		return []model.Finding{monitorFinding(c, err)}, nil
	}
	defer cl.Close()
	var (
		out  []model.Finding
		errs []error
	)
	cluster, err := cl.Cluster(ctx)
	name := cluster.FSID
	if name == "" {
		name = monitorsOf(c)
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("check %s/%s: %w", CheckHealth, CheckPoolFull, err))
	} else {
		out = append(out, healthFindings(name, cluster.Health)...)
		out = append(out, poolFindings(name, cluster)...)
	}
	bl, err := cl.Blocklist(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("check %s: %w", CheckBlocklist, err))
	}
	var all []model.RBDImage
	for _, pool := range o.Pools {
		imgs, err := cl.Images(ctx, pool)
		switch e := errno(err); {
		case e == syscall.EPERM || e == syscall.EACCES:
			out = append(out, refusedFinding(c.User, pool, "list images", err))
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("check %s/%s on pool %s: %w", CheckStaleLock, CheckMultiWatch, pool, err))
		}
		for _, img := range imgs {
			out = append(out, lockFindings(img, bl)...)
			out = append(out, watchFindings(img)...)
			for _, e := range img.Errors {
				errs = append(errs, fmt.Errorf("image %s/%s: %s", img.Pool, img.Name, e))
			}
		}
		all = append(all, imgs...)
	}
	out = append(out, blocklistFindings(name, bl, all)...)
	if o.Admin.User != "" && len(o.Pools) > 0 {
		fs, err := userCapsFindings(ctx, o.Admin, c.User, o.Pools)
		out = append(out, fs...)
		if err != nil {
			errs = append(errs, fmt.Errorf("check %s: %w", CheckUserCaps, err))
		}
	}
	model.SortFindings(out)
	return out, errors.Join(errs...)
}

// userCapsFindings reads user's caps as admin and checks them per pool,
// skipping pools the EPERM path already reported.
func userCapsFindings(ctx context.Context, admin Config, user string, pools []string) ([]model.Finding, error) {
	acl, err := Connect(ctx, admin)
	if err != nil {
		return nil, err
	}
	defer acl.Close()
	caps, err := acl.UserCaps(ctx, user)
	if err != nil {
		return nil, err
	}
	var out []model.Finding
	for _, p := range pools {
		out = append(out, capsFindings(caps, p)...)
	}
	return out, nil
}

// BreakLock removes the lock that locker (client.N) holds with cookie on
// pool/image, and only that one: when the image no longer has that exact
// lock (another admin broke it, or the client re-took it with a new
// cookie) it refuses with ErrLockChanged; when the locker watches the
// image again (it is alive) it refuses with ErrLockLive. librbd fences the
// locker as it breaks the lock (rbd_blocklist_on_break_lock, as `rbd lock
// rm` does), so a client that was only slow cannot write after it.
func (cl *Client) BreakLock(ctx context.Context, pool, image, locker, cookie string) error {
	spec := pool + "/" + image
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ceph: break lock on %s: %w", spec, err)
	}
	io, err := cl.ioctx(pool)
	if err != nil {
		return err
	}
	defer io.Destroy()
	im, err := rbd.OpenImage(io, image, rbd.NoSnapshot)
	if err != nil {
		return fmt.Errorf("ceph: open image %s: %w", spec, err)
	}
	defer im.Close()
	_, ls, err := im.ListLockers()
	if err != nil {
		return fmt.Errorf("ceph: list lockers of %s: %w", spec, err)
	}
	i := slices.IndexFunc(ls, func(l rbd.Locker) bool { return l.Client == locker && l.Cookie == cookie })
	if i < 0 {
		return fmt.Errorf("ceph: %s holds no lock with cookie %q on %s now (lockers: %s): %w",
			locker, cookie, spec, lockerList(ls), ErrLockChanged)
	}
	ws, err := im.ListWatchers()
	if err != nil {
		return fmt.Errorf("ceph: list watchers of %s: %w", spec, err)
	}
	for _, w := range ws {
		if sameClientAddr(w.Addr, ls[i].Addr) {
			return fmt.Errorf("ceph: %s at %s watches %s: it is alive, its lock is not stale: %w", locker, ls[i].Addr, spec, ErrLockLive)
		}
	}
	if err := im.BreakLock(locker, cookie); err != nil {
		if errors.Is(err, rbd.ErrNotFound) {
			return fmt.Errorf("ceph: break lock %q of %s on %s: gone meanwhile: %w", cookie, locker, spec, ErrLockChanged)
		}
		return fmt.Errorf("ceph: break lock %q of %s on %s: %w", cookie, locker, spec, err)
	}
	return nil
}

func lockerList(ls []rbd.Locker) string {
	if len(ls) == 0 {
		return "none"
	}
	s := ""
	for i, l := range ls {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s cookie %q", l.Client, l.Cookie)
	}
	return s
}
