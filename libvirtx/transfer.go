package libvirtx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"stowage/model"
)

// Wipe, upload and download: libvirt calls that outlast the per-call
// timeout. A wipe is one call libvirtd runs to its end; a stream moves the
// volume's bytes over the connection in 4 MiB packets.
//
// go-libvirt's streams shape this file (v0.0.0-20260217163227, read in its
// rpc.go and socket.go):
//   - a download's writer that returns an error stops reading the reply
//     channel while the router still holds its lock to deliver the next
//     packet: every call on the connection then hangs. The sink below
//     therefore never fails a write; it drops the bytes and cuts the
//     socket instead.
//   - an upload that ends early can leave the stream's two goroutines
//     waiting on each other (unbuffered abort and result channels), so the
//     call may never return after a cut. The call runs on a goroutine of
//     its own and is given up on after a cut (a grace of streamGrace).
//   - no sparse streams: go-libvirt has no hole packets.
// A transfer therefore needs a connection of its own (the console's
// workflows dial one), which a cancel or a stall cuts.

// streamGrace is how long a cut stream call is awaited before it is given
// up on (see above).
const streamGrace = 5 * time.Second

// VolumeStamp reads a volume and its identity (key, change time).
func (c *Conn) VolumeStamp(ctx context.Context, pool, name string) (model.Volume, model.VolumeStamp, error) {
	ph, err := c.lookupPool(ctx, pool)
	if err != nil {
		return model.Volume{}, model.VolumeStamp{}, err
	}
	var v model.Volume
	var st model.VolumeStamp
	err = c.do(ctx, fmt.Sprintf("read volume %s/%s", pool, name), func(l *libvirt.Libvirt) error {
		h, err := l.StorageVolLookupByName(ph, name)
		if err != nil {
			return err
		}
		v, st, err = stampOf(l, pool, h)
		return err
	})
	return v, st, err
}

func stampOf(l *libvirt.Libvirt, pool string, h libvirt.StorageVol) (model.Volume, model.VolumeStamp, error) {
	doc, err := l.StorageVolGetXMLDesc(h, 0)
	if err != nil {
		return model.Volume{}, model.VolumeStamp{}, err
	}
	v, err := VolumeFromXML(pool, doc)
	if err != nil {
		return v, model.VolumeStamp{}, err
	}
	var x libvirtxml.StorageVolume
	if err := x.Unmarshal(doc); err != nil {
		return v, model.VolumeStamp{}, fmt.Errorf("parse volume XML: %w", err)
	}
	st := model.VolumeStamp{Key: v.Key}
	if x.Target != nil && x.Target.Timestamps != nil {
		st.Changed = x.Target.Timestamps.Ctime
	}
	return v, st, nil
}

// checked looks pool/name up and runs check on what is there now, in one
// sequence of calls; the handle is what the action then uses.
func (c *Conn) checked(ctx context.Context, pool, name string, check func(model.Volume, model.VolumeStamp) error) (libvirt.StorageVol, error) {
	ph, err := c.lookupPool(ctx, pool)
	if err != nil {
		return libvirt.StorageVol{}, err
	}
	var h libvirt.StorageVol
	err = c.do(ctx, fmt.Sprintf("read volume %s/%s", pool, name), func(l *libvirt.Libvirt) error {
		h, err = l.StorageVolLookupByName(ph, name)
		if err != nil {
			return err
		}
		v, st, err := stampOf(l, pool, h)
		if err != nil {
			return err
		}
		return check(v, st)
	})
	return h, err
}

// WipeVolumeIf wipes pool/name with libvirt's algorithm (model.
// WipeAlgorithms) when check accepts the volume there now. libvirt has no
// progress for a wipe and cannot stop one: within bounds the wait (then
// the socket is cut; libvirtd finishes the wipe regardless), as does ctx.
func (c *Conn) WipeVolumeIf(ctx context.Context, pool, name string, algorithm uint32, within time.Duration,
	check func(model.Volume, model.VolumeStamp) error) error {
	h, err := c.checked(ctx, pool, name, check)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	l, sock, err := c.live(ctx)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("wipe volume %s/%s", pool, name)
	return bounded(ctx, c, sock, what, within, func() error { return l.StorageVolWipePattern(h, algorithm, 0) })
}

// UploadVolumeIf streams length bytes from r into pool/name from offset 0
// when check accepts the volume there now. A cancel or a stall cuts the
// connection; the volume then holds what arrived.
func (c *Conn) UploadVolumeIf(ctx context.Context, pool, name string, r io.Reader, length uint64, s model.Stream,
	check func(model.Volume, model.VolumeStamp) error) (uint64, error) {
	return c.transfer(ctx, pool, name, "upload into volume", s, check, func(l *libvirt.Libvirt, h libvirt.StorageVol, m *mover) error {
		return l.StorageVolUpload(h, &source{r: r, m: m}, 0, length, 0)
	})
}

// DownloadVolumeIf streams pool/name into w when check accepts the volume
// there now. A write error, a cancel or a stall cuts the connection (see
// the file's comment); the error says which.
func (c *Conn) DownloadVolumeIf(ctx context.Context, pool, name string, w io.Writer, s model.Stream,
	check func(model.Volume, model.VolumeStamp) error) (uint64, error) {
	return c.transfer(ctx, pool, name, "download volume", s, check, func(l *libvirt.Libvirt, h libvirt.StorageVol, m *mover) error {
		return l.StorageVolDownload(h, &sink{w: w, m: m}, 0, 0, 0)
	})
}

// transfer checks the volume, then runs a stream call with its mover
// (bytes counted, progress, stall watch) on a context the mover can cut.
func (c *Conn) transfer(ctx context.Context, pool, name, what string, s model.Stream,
	check func(model.Volume, model.VolumeStamp) error, fn func(*libvirt.Libvirt, libvirt.StorageVol, *mover) error) (uint64, error) {
	h, err := c.checked(ctx, pool, name, check)
	if err != nil {
		return 0, err
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	m := newMover(ctx, stop, s)
	err = c.streamCall(ctx, fmt.Sprintf("%s %s/%s", what, pool, name), func(l *libvirt.Libvirt) error { return fn(l, h, m) })
	return m.n.Load(), m.outcome(err)
}

// streamCall runs a stream call on a goroutine; when ctx ends first the
// socket is cut and the call is awaited for streamGrace at most.
func (c *Conn) streamCall(ctx context.Context, what string, fn func(*libvirt.Libvirt) error) error {
	l, sock, err := c.live(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	done := make(chan error, 1)
	go func() { done <- fn(l) }()
	select {
	case err := <-done:
		if err == nil {
			return nil
		}
		if socketGone(err) {
			sock.lose(errClosedByLibvirtd)
			return fmt.Errorf("%s: %w", what, lostError{target: c.Target.Raw, cause: sock.lost(),
				inFlight: errors.Is(err, libvirt.ErrInterrupted), err: err})
		}
		return fmt.Errorf("%s: %w", what, markNotFound(err))
	case <-ctx.Done():
		sock.lose(fmt.Errorf("%s stopped: %w", what, context.Cause(ctx)))
		select {
		case <-done:
		case <-time.After(streamGrace):
		}
		return fmt.Errorf("%s: %w", what, context.Cause(ctx))
	}
}

// ErrStalled is a transfer cut because no byte moved for Stream.Stall.
var ErrStalled = errors.New("no data moved")

// ErrNotFinished is an upload whose every byte was sent but which libvirtd
// did not confirm within drainFactor times Stream.Stall.
var ErrNotFinished = errors.New("every byte was sent but libvirtd did not confirm the upload")

const drainFactor = 5

// mover counts a stream's bytes, reports them and watches for a stall.
type mover struct {
	ctx  context.Context
	stop context.CancelCauseFunc
	s    model.Stream
	n    atomic.Uint64
	last atomic.Int64 // unix nanos of the last byte moved
	// drained: an upload's source gave its last byte. libvirtd may still
	// be writing what the connection buffered (over a slow SAN, minutes for
	// a few MiB, measured on the nested host's LVM on iSCSI), and no byte
	// moves meanwhile: the stall bound is then drainFactor times longer.
	drained atomic.Bool
	mu      sync.Mutex
	err     error // the local side's failure (a write to the file)
}

func newMover(ctx context.Context, stop context.CancelCauseFunc, s model.Stream) *mover {
	m := &mover{ctx: ctx, stop: stop, s: s}
	m.last.Store(time.Now().UnixNano())
	if s.Stall > 0 {
		go m.watch()
	}
	return m
}

func (m *mover) watch() {
	t := time.NewTicker(m.s.Stall / 4)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
			bound := m.s.Stall
			if m.drained.Load() {
				bound *= drainFactor
			}
			if since := time.Since(time.Unix(0, m.last.Load())); since >= bound {
				what := ErrStalled
				if m.drained.Load() {
					what = ErrNotFinished
				}
				m.stop(fmt.Errorf("%w for %s: %w", what, bound, model.ErrTimeout))
				return
			}
		}
	}
}

func (m *mover) moved(n int) {
	if n <= 0 {
		return
	}
	total := m.n.Add(uint64(n))
	m.last.Store(time.Now().UnixNano())
	if m.s.Progress != nil {
		m.s.Progress(total)
	}
}

func (m *mover) fail(err error) {
	m.mu.Lock()
	if m.err == nil {
		m.err = err
	}
	m.mu.Unlock()
	m.stop(err)
}

// outcome prefers the local failure (the file) over the cut it caused.
func (m *mover) outcome(err error) error {
	m.mu.Lock()
	local := m.err
	m.mu.Unlock()
	if local != nil {
		return local
	}
	return err
}

// sink is a download's writer: it never returns an error to go-libvirt
// (see the file's comment); after a failure or a cancel it drops bytes.
type sink struct {
	w io.Writer
	m *mover
}

func (s *sink) Write(p []byte) (int, error) {
	if s.m.ctx.Err() != nil {
		return len(p), nil
	}
	n, err := s.w.Write(p)
	s.m.moved(n)
	if err != nil {
		s.m.fail(fmt.Errorf("write: %w", err))
	}
	return len(p), nil
}

// source is an upload's reader; a cancel ends it (the cut follows).
type source struct {
	r io.Reader
	m *mover
}

func (s *source) Read(p []byte) (int, error) {
	if err := s.m.ctx.Err(); err != nil {
		return 0, io.EOF
	}
	n, err := s.r.Read(p)
	s.m.moved(n)
	if errors.Is(err, io.EOF) {
		s.m.drained.Store(true)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		s.m.fail(fmt.Errorf("read: %w", err))
		return n, io.EOF
	}
	return n, err
}
