//go:build !noceph

package ceph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"

	"stowage/model"
)

// monCommand runs one mon command with format json. librados bounds it by
// rados_mon_op_timeout (Config.Timeout); the error names the command and
// the monitors' own words.
func (cl *Client) monCommand(ctx context.Context, args map[string]any) ([]byte, error) {
	prefix, _ := args["prefix"].(string)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ceph: mon command %q: %w", prefix, err)
	}
	if cl.conn == nil {
		return nil, errors.New("ceph: connection already closed")
	}
	args["format"] = "json"
	b, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("ceph: mon command %q: %w", prefix, err)
	}
	out, info, err := cl.conn.MonCommand(b)
	if err != nil {
		if info != "" {
			return nil, fmt.Errorf("ceph: mon command %q: %w (%s)", prefix, err, info)
		}
		return nil, fmt.Errorf("ceph: mon command %q: %w", prefix, err)
	}
	return out, nil
}

// Health is `ceph health detail`.
func (cl *Client) Health(ctx context.Context) (model.CephHealth, error) {
	b, err := cl.monCommand(ctx, map[string]any{"prefix": "health", "detail": "detail"})
	if err != nil {
		return model.CephHealth{}, err
	}
	h, err := parseHealth(b)
	if err != nil {
		return h, fmt.Errorf("ceph: %w", err)
	}
	return h, nil
}

// Cluster is the cluster's health, capacity, ratios and pools (mon
// commands `health detail`, `df`, `osd dump`).
func (cl *Client) Cluster(ctx context.Context) (model.CephCluster, error) {
	var c model.CephCluster
	h, err := cl.Health(ctx)
	if err != nil {
		return c, err
	}
	c.Health = h
	b, err := cl.monCommand(ctx, map[string]any{"prefix": "df"})
	if err != nil {
		return c, err
	}
	if err := parseDF(b, &c); err != nil {
		return c, fmt.Errorf("ceph: %w", err)
	}
	b, err = cl.monCommand(ctx, map[string]any{"prefix": "osd dump"})
	if err != nil {
		return c, err
	}
	if err := parseOSDDump(b, &c); err != nil {
		return c, fmt.Errorf("ceph: %w", err)
	}
	return c, nil
}

// Blocklist is `ceph osd blocklist ls`.
func (cl *Client) Blocklist(ctx context.Context) ([]model.CephBlocklistEntry, error) {
	b, err := cl.monCommand(ctx, map[string]any{"prefix": "osd blocklist ls"})
	if err != nil {
		return nil, err
	}
	bl, err := parseBlocklist(b)
	if err != nil {
		return nil, fmt.Errorf("ceph: %w", err)
	}
	return bl, nil
}

// UserCaps is `ceph auth get client.USER` without the key; it needs a
// connection with admin-like mon caps (others get EACCES).
func (cl *Client) UserCaps(ctx context.Context, user string) (model.CephUserCaps, error) {
	b, err := cl.monCommand(ctx, map[string]any{"prefix": "auth get", "entity": "client." + user})
	if err != nil {
		return model.CephUserCaps{}, err
	}
	defer clear(b) // the answer carries the user's key
	caps, err := parseAuthCaps(b)
	if err != nil {
		return caps, fmt.Errorf("ceph: %w", err)
	}
	return caps, nil
}

// Images is Image for every image of a pool, in name order. An image that
// cannot be read is listed with its Errors.
func (cl *Client) Images(ctx context.Context, pool string) ([]model.RBDImage, error) {
	names, err := cl.ImageNames(pool)
	if err != nil {
		return nil, err
	}
	out := make([]model.RBDImage, 0, len(names))
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("ceph: images of %q: %w", pool, err)
		}
		img, err := cl.Image(pool, n)
		if errors.Is(err, rbd.ErrNotFound) {
			continue // removed since the listing
		}
		if err != nil && img.Name == "" {
			img = model.RBDImage{Pool: pool, Name: n, Errors: []string{err.Error()}}
		}
		out = append(out, img)
	}
	return out, nil
}

// Image reads what the Ceph view shows of one image. Opening fails as a
// whole; each later part that fails is named in Errors and the rest kept.
func (cl *Client) Image(pool, name string) (model.RBDImage, error) {
	img := model.RBDImage{Pool: pool, Name: name, Encryption: "unknown"}
	io, err := cl.ioctx(pool)
	if err != nil {
		return img, err
	}
	defer io.Destroy()
	// Read-only: no header watch of our own, so stowage never shows up as
	// a watcher of what it inspects.
	im, err := rbd.OpenImageReadOnly(io, name, rbd.NoSnapshot)
	if err != nil {
		return model.RBDImage{}, fmt.Errorf("ceph: open image %s/%s: %w", pool, name, err)
	}
	defer im.Close()
	fail := func(what string, err error) {
		img.Errors = append(img.Errors, fmt.Sprintf("%s of %s/%s: %v", what, pool, name, err))
	}
	if img.ID, err = im.GetId(); err != nil {
		fail("id", err)
	}
	if img.Size, err = im.GetSize(); err != nil {
		fail("size", err)
	}
	if f, err := im.GetFeatures(); err != nil {
		fail("features", err)
	} else {
		fs := rbd.FeatureSet(f)
		img.Features = fs.Names()
	}
	head := make([]byte, HeadBytes)
	if n, err := im.ReadAt(head, 0); err != nil && n == 0 && img.Size > 0 {
		fail("header", err)
	} else {
		img.Encryption = Encryption(head[:n])
	}
	if img.Used, err = usedBytes(im, img.Size); err != nil {
		fail("used", err)
	}
	img.UsedMethod = "diff-iterate whole-object (allocated objects, like rbd du without fast-diff)"
	if ws, err := im.ListWatchers(); err != nil {
		fail("watchers", err)
	} else {
		img.Watchers = make([]model.RBDWatcher, 0, len(ws))
		for _, w := range ws {
			img.Watchers = append(img.Watchers, model.RBDWatcher{Address: w.Addr, Host: AddrHost(w.Addr), Client: w.Id, Cookie: w.Cookie})
		}
	}
	if img.Lockers, err = lockers(io, im, img.ID); err != nil {
		fail("lockers", err)
	}
	if snaps, err := im.GetSnapshotNames(); err != nil {
		fail("snapshots", err)
	} else {
		for _, s := range snaps {
			img.Snapshots = append(img.Snapshots, model.RBDSnapshot{ID: s.Id, Name: s.Name, Size: s.Size})
		}
	}
	if p, err := im.GetParent(); err == nil {
		img.Parent = p.Image.PoolName + "/" + p.Image.ImageName + "@" + p.Snap.SnapName
	} else if !errors.Is(err, rbd.ErrNotFound) {
		fail("parent", err)
	}
	return img, nil
}

// usedBytes adds up the extents that exist, at whole-object granularity:
// rbd du's answer when the image has no fast-diff map. It reads object
// existence, never data.
func usedBytes(im *rbd.Image, size uint64) (uint64, error) {
	if size == 0 {
		return 0, nil
	}
	var used uint64
	err := im.DiffIterate(rbd.DiffIterateConfig{
		Offset: 0, Length: size, IncludeParent: rbd.ExcludeParent, WholeObject: rbd.EnableWholeObject,
		Callback: func(_, length uint64, exists int, _ any) int {
			if exists != 0 {
				used += length
			}
			return 0
		},
	})
	return used, err
}

// lockers lists an image's lockers. librbd's list does not say whether the
// lock is exclusive; the header object's lock info (rbd_header.ID, lock
// "rbd_lock", librbd's own name for it) does, so it is asked as well.
func lockers(io *rados.IOContext, im *rbd.Image, id string) ([]model.RBDLocker, error) {
	_, ls, err := im.ListLockers()
	if err != nil {
		return nil, err
	}
	exclusive := false
	if id != "" && len(ls) > 0 {
		if info, err := io.ListLockers("rbd_header."+id, "rbd_lock"); err == nil && info != nil {
			exclusive = info.Exclusive
		}
	}
	out := make([]model.RBDLocker, 0, len(ls))
	for _, l := range ls {
		out = append(out, model.RBDLocker{Client: l.Client, Cookie: l.Cookie, Address: l.Addr, Host: AddrHost(l.Addr), Exclusive: exclusive})
	}
	return out, nil
}
