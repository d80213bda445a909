package libvirtx

import (
	"context"
	"fmt"
	"time"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"stowage/model"
)

// VolumeXMLWithCipher is VolumeXML plus a LUKS <cipher> and <ivgen> (nil
// keeps libvirt's default, aes-256-cbc-essiv:sha256).
func VolumeXMLWithCipher(s model.VolumeSpec, ci *model.Cipher) (string, error) {
	doc, err := VolumeXML(s)
	if err != nil || ci == nil || s.Encryption == nil {
		return doc, err
	}
	var x libvirtxml.StorageVolume
	if err := x.Unmarshal(doc); err != nil {
		return "", fmt.Errorf("volume XML: %w", err)
	}
	e := x.Target.Encryption
	e.Cipher = &libvirtxml.StorageEncryptionCipher{Name: ci.Name, Size: ci.Size, Mode: ci.Mode, Hash: ci.Hash}
	e.Ivgen = &libvirtxml.StorageEncryptionIvgen{Name: ci.IVGen, Hash: ci.IVHash}
	if e.Ivgen.Hash == "" {
		e.Ivgen.Hash = ci.Hash
	}
	return x.Marshal()
}

// CreateVolumeWatched creates a volume like CreateVolume, with its own
// bound, and polls the new volume's allocation while libvirt works, so a
// progress bar can move. ci is the LUKS cipher (nil for libvirt's default).
// An attempt that fails on QEMU's LUKS benchmark is made again, up to
// LUKSBenchmarkAttempts in all; then the error is a *LUKSBenchmarkError.
//
// libvirt cannot abort a volume creation: ctx's cancellation is honoured
// only once StorageVolCreateXML has returned (the caller then deletes the
// volume); w.Within is the hard bound of each attempt.
func (c *Conn) CreateVolumeWatched(ctx context.Context, pool string, s model.VolumeSpec, ci *model.Cipher, w model.CreateWatch) (model.Volume, error) {
	doc, err := VolumeXMLWithCipher(s, ci)
	if err != nil {
		return model.Volume{}, err
	}
	return c.buildWatched(ctx, pool, s.Name, fmt.Sprintf("create volume %s/%s", pool, s.Name), w,
		func(l *libvirt.Libvirt, ph libvirt.StoragePool) (libvirt.StorageVol, error) {
			return l.StorageVolCreateXML(ph, doc, 0)
		})
}

// buildWatched runs build (a volume creation in pool ph) under w: one
// bound per attempt, the new volume name's allocation polled meanwhile,
// attempts failing on QEMU's LUKS benchmark made again. It returns the
// new volume as libvirt describes it.
func (c *Conn) buildWatched(ctx context.Context, pool, name, what string, w model.CreateWatch,
	build func(l *libvirt.Libvirt, ph libvirt.StoragePool) (libvirt.StorageVol, error)) (model.Volume, error) {
	ph, err := c.lookupPool(ctx, pool)
	if err != nil {
		return model.Volume{}, err
	}
	attempt := func() (string, error) {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.Within)
		defer cancel()
		// The create and its progress polls share one socket, taken (and
		// on an owned connection redialed) once, within the attempt's
		// bound: a poll never redials under a create still waiting.
		l, sock, err := c.live(actx)
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		stop := make(chan struct{})
		polled := make(chan struct{})
		go func() {
			defer close(polled)
			c.pollAllocation(l, sock, ph, name, w.Interval, stop, w.Progress)
		}()
		defer func() {
			close(stop)
			<-polled
		}()
		var out string
		err = bounded(actx, c, sock, what, w.Within, func() error {
			h, err := build(l, ph)
			if err != nil {
				return err
			}
			out, err = l.StorageVolGetXMLDesc(h, 0)
			return err
		})
		return out, err
	}
	var retried Retried
	if w.Retried != nil {
		retried = func(attempt, of int, cause error) { w.Retried(attempt, of, BriefCause(cause), cause) }
	}
	out, err := luksRetry(ctx, pool+"/"+name, LUKSBenchmarkAttempts, jitteredPause, retried, attempt)
	if err != nil {
		return model.Volume{}, err
	}
	v, err := VolumeFromXML(pool, out)
	if err == nil && w.Progress != nil {
		w.Progress(v.Capacity, v.Capacity)
	}
	return v, err
}

// pollAllocation polls on the create's own socket (l, sock) until stop,
// each poll bounded by the connection's timeout; it ends when that socket
// is gone.
func (c *Conn) pollAllocation(l *libvirt.Libvirt, sock *trackedDialer, ph libvirt.StoragePool, name string, interval time.Duration, stop <-chan struct{}, progress func(allocation, capacity uint64)) {
	if progress == nil || interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		var capacity, alloc uint64
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		err := bounded(ctx, c, sock, "poll "+name, c.timeout, func() error {
			v, err := l.StorageVolLookupByName(ph, name)
			if err != nil {
				return err
			}
			_, capacity, alloc, err = l.StorageVolGetInfo(v)
			return err
		})
		cancel()
		switch {
		case err == nil:
			progress(alloc, capacity)
		case sock.lost() != nil:
			return
		}
		// Otherwise a volume not yet visible is simply not polled this round.
	}
}

// Volume reads one volume by name.
func (c *Conn) Volume(ctx context.Context, pool, name string) (model.Volume, error) {
	ph, err := c.lookupPool(ctx, pool)
	if err != nil {
		return model.Volume{}, err
	}
	doc, err := call(ctx, c, fmt.Sprintf("read volume %s/%s", pool, name), func(l *libvirt.Libvirt) (string, error) {
		h, err := l.StorageVolLookupByName(ph, name)
		if err != nil {
			return "", err
		}
		return l.StorageVolGetXMLDesc(h, 0)
	})
	if err != nil {
		return model.Volume{}, err
	}
	return VolumeFromXML(pool, doc)
}

// DomainNames lists every VM (running or not).
func (c *Conn) DomainNames(ctx context.Context) ([]string, error) {
	return call(ctx, c, "list VMs", func(l *libvirt.Libvirt) ([]string, error) {
		ds, _, err := l.ConnectListAllDomains(1, 0)
		var names []string
		for _, d := range ds {
			names = append(names, d.Name)
		}
		return names, err
	})
}
