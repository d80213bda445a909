//go:build !noceph

package ceph

import (
	"errors"
	"fmt"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"
)

// DeepCopyImage copies pool/name, with its data, to toPool/to (librbd's
// deep copy: an independent image, no parent left behind). A target
// that exists already is an error and is not touched.
func (cl *Client) DeepCopyImage(pool, name, toPool, to string) error {
	src, dst, done, err := cl.copyContexts(pool, toPool, to)
	if err != nil {
		return err
	}
	defer done()
	img, err := rbd.OpenImageReadOnly(src, name, rbd.NoSnapshot)
	if err != nil {
		return fmt.Errorf("ceph: open image %s/%s: %w", pool, name, err)
	}
	defer img.Close()
	opts := rbd.NewRbdImageOptions()
	defer opts.Destroy()
	if err := img.DeepCopy(dst, to, opts); err != nil {
		if errors.Is(err, rbd.ErrExist) {
			return fmt.Errorf("ceph: image %s/%s already exists", toPool, to)
		}
		return fmt.Errorf("ceph: deep-copy %s/%s to %s/%s: %w", pool, name, toPool, to, err)
	}
	return nil
}

// ProtectedSnapshot makes snapshot snap of pool/image and protects it (a
// clone's parent must be); it returns the snapshot's id, RBD's identity
// for it. A snapshot of that name that exists already is an error and is
// not touched; one this call made but could not protect is removed.
func (cl *Client) ProtectedSnapshot(pool, image, snap string) (uint64, error) {
	io, err := cl.ioctx(pool)
	if err != nil {
		return 0, err
	}
	defer io.Destroy()
	img, err := rbd.OpenImage(io, image, rbd.NoSnapshot)
	if err != nil {
		return 0, fmt.Errorf("ceph: open image %s/%s: %w", pool, image, err)
	}
	defer img.Close()
	s, err := img.CreateSnapshot(snap)
	if err != nil {
		if errors.Is(err, rbd.ErrExist) {
			return 0, fmt.Errorf("ceph: snapshot %s/%s@%s already exists", pool, image, snap)
		}
		return 0, fmt.Errorf("ceph: snapshot %s/%s@%s: %w", pool, image, snap, err)
	}
	if err := s.Protect(); err != nil {
		_ = s.Remove()
		return 0, fmt.Errorf("ceph: protect %s/%s@%s: %w", pool, image, snap, err)
	}
	id, err := snapID(img, snap)
	if err != nil {
		return 0, fmt.Errorf("ceph: id of %s/%s@%s: %w", pool, image, snap, err)
	}
	return id, nil
}

func snapID(img *rbd.Image, snap string) (uint64, error) {
	snaps, err := img.GetSnapshotNames()
	if err != nil {
		return 0, err
	}
	for _, s := range snaps {
		if s.Name == snap {
			return s.Id, nil
		}
	}
	return 0, rbd.ErrNotFound
}

// RemoveSnapshotIfID unprotects and removes pool/image@snap only while
// its id is id and no clone hangs from it; one already gone is not an
// error.
func (cl *Client) RemoveSnapshotIfID(pool, image, snap string, id uint64) error {
	io, err := cl.ioctx(pool)
	if err != nil {
		return err
	}
	defer io.Destroy()
	img, err := rbd.OpenImage(io, image, rbd.NoSnapshot)
	if errors.Is(err, rbd.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ceph: open image %s/%s: %w", pool, image, err)
	}
	defer img.Close()
	now, err := snapID(img, snap)
	if errors.Is(err, rbd.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ceph: snapshots of %s/%s: %w", pool, image, err)
	}
	if now != id {
		return fmt.Errorf("ceph: snapshot %s/%s@%s has id %d, not %d: %w", pool, image, snap, now, id, ErrImageReplaced)
	}
	s := img.GetSnapshot(snap)
	at, err := rbd.OpenImageReadOnly(io, image, snap)
	if err != nil {
		return fmt.Errorf("ceph: open snapshot %s/%s@%s: %w", pool, image, snap, err)
	}
	_, children, err := at.ListChildren()
	_ = at.Close()
	if err != nil {
		return fmt.Errorf("ceph: children of %s/%s@%s: %w", pool, image, snap, err)
	}
	if len(children) > 0 {
		return fmt.Errorf("ceph: snapshot %s/%s@%s has clones %v: %w", pool, image, snap, children, ErrImageReplaced)
	}
	if p, err := s.IsProtected(); err == nil && p {
		if err := s.Unprotect(); err != nil {
			return fmt.Errorf("ceph: unprotect %s/%s@%s: %w", pool, image, snap, err)
		}
	}
	if err := s.Remove(); err != nil {
		return fmt.Errorf("ceph: remove snapshot %s/%s@%s: %w", pool, image, snap, err)
	}
	return nil
}

// CloneFromSnapshot makes toPool/to a copy-on-write child of
// pool/image@snap (layering only, like the images stowage creates).
func (cl *Client) CloneFromSnapshot(pool, image, snap, toPool, to string) error {
	src, dst, done, err := cl.copyContexts(pool, toPool, to)
	if err != nil {
		return err
	}
	defer done()
	opts := rbd.NewRbdImageOptions()
	defer opts.Destroy()
	if err := opts.SetUint64(rbd.ImageOptionFeatures, rbd.FeatureLayering|rbd.FeatureExclusiveLock); err != nil {
		return fmt.Errorf("ceph: features for clone %s/%s: %w", toPool, to, err)
	}
	if err := rbd.CloneImage(src, image, snap, dst, to, opts); err != nil {
		if errors.Is(err, rbd.ErrExist) {
			return fmt.Errorf("ceph: image %s/%s already exists", toPool, to)
		}
		return fmt.Errorf("ceph: clone %s/%s@%s to %s/%s: %w", pool, image, snap, toPool, to, err)
	}
	return nil
}

// copyContexts checks the new image's name and opens the source and
// target pools; done releases both.
func (cl *Client) copyContexts(pool, toPool, to string) (src, dst *rados.IOContext, done func(), err error) {
	if err := ImageName(to); err != nil {
		return nil, nil, nil, err
	}
	if src, err = cl.ioctx(pool); err != nil {
		return nil, nil, nil, err
	}
	if dst, err = cl.ioctx(toPool); err != nil {
		src.Destroy()
		return nil, nil, nil, err
	}
	return src, dst, func() { dst.Destroy(); src.Destroy() }, nil
}
