package data

import (
	"context"
	"errors"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"stowage/model"
	"stowage/ui/common"
)

// CephReader is the Backend capability behind the Ceph view: the
// clusters a host's rbd pools point at (model.CephView), read as the
// doctor and `stowage inventory --ceph` read them. A backend without it
// gets a view that says so instead of an offer it cannot keep.
type CephReader interface {
	Ceph(ctx context.Context, host int) ([]model.CephView, error)
}

// Ceph is what the store knows of one host's Ceph: the last views read,
// and the last read's error (the views before it are kept, so a failed
// re-read shows its message over the old data).
type Ceph struct {
	Views   []model.CephView
	Err     error
	Loaded  bool
	Loading bool
	// reads numbers the reads: a newer one makes an older one's answer
	// stale (common.Route, as the refreshes).
	reads  common.Requests
	cancel context.CancelFunc
	asked  bool
}

// CephMsg carries a host's Ceph read to the store (the root hands it
// there, as the refresh parts).
type CephMsg struct {
	common.Route
	Host  int
	Views []model.CephView
	Err   error
}

// CephTimeout bounds a whole Ceph read (a libvirt inventory, then per
// cluster a connection, the cluster's facts and every image): librados
// bounds each call by the configured timeout, this the sum, so that a
// call that hangs in spite of it ends the read with a message.
func (s *Store) CephTimeout() time.Duration { return 4 * s.timeout }

// CephOf is host i's Ceph state (the zero value before the first read).
func (s *Store) CephOf(i int) Ceph {
	if i < 0 || i >= len(s.ceph) {
		return Ceph{}
	}
	return *s.ceph[i]
}

func (s *Store) cephState(i int) *Ceph {
	for len(s.ceph) < len(s.Hosts) {
		s.ceph = append(s.ceph, &Ceph{})
	}
	return s.ceph[i]
}

// LoadCeph reads host i's Ceph unless it was read already (or is being
// read): opening a Ceph view, and drilling down in it, reuse one read.
func (s *Store) LoadCeph(i int) tea.Cmd {
	if i < 0 || i >= len(s.Hosts) {
		return nil
	}
	if c := s.cephState(i); c.Loaded || c.Loading {
		return nil
	}
	return s.ReadCeph(i)
}

// ReloadCeph re-reads host i's Ceph if a Ceph view asked for it before
// (the refresh key); it never starts the first read.
func (s *Store) ReloadCeph(i int) tea.Cmd {
	if i < 0 || i >= len(s.Hosts) {
		return nil
	}
	if !s.cephState(i).asked {
		return nil
	}
	return s.ReadCeph(i)
}

// ReadCeph starts a read of host i's Ceph as a Cmd bounded by
// CephTimeout; a newer read makes this one's answer stale.
func (s *Store) ReadCeph(i int) tea.Cmd {
	if i < 0 || i >= len(s.Hosts) {
		return nil
	}
	c := s.cephState(i)
	if c.cancel != nil {
		c.cancel()
	}
	route := c.reads.New()
	c.Loading, c.asked = true, true
	ctx, cancel := context.WithTimeout(context.Background(), s.CephTimeout())
	c.cancel = cancel
	r, ok := s.backend.(CephReader)
	timeout := s.CephTimeout()
	return func() tea.Msg {
		defer cancel()
		if !ok {
			return CephMsg{Route: route, Host: i, Err: errors.New("this console's backend cannot read Ceph")}
		}
		views, err := readCeph(ctx, r, i, timeout)
		return CephMsg{Route: route, Host: i, Views: views, Err: err}
	}
}

// readCeph waits for the backend at most until ctx ends: a call stuck in
// a library that ignores ctx is left to finish on its own, and the view
// gets a message instead of a spinner for ever.
func readCeph(ctx context.Context, r CephReader, i int, timeout time.Duration) ([]model.CephView, error) {
	type answer struct {
		views []model.CephView
		err   error
	}
	done := make(chan answer, 1)
	go func() {
		v, err := r.Ceph(ctx, i)
		done <- answer{v, err}
	}()
	select {
	case a := <-done:
		return a.views, a.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("no answer from Ceph within %s (a monitor down, or a cluster too slow): %w", timeout, ctx.Err())
		}
		return nil, ctx.Err()
	}
}

// UpdateCeph applies a Ceph read; changed reports whether screens should
// redraw. An answer that is not the host's latest read is dropped.
func (s *Store) UpdateCeph(msg CephMsg) (changed bool) {
	if msg.Host < 0 || msg.Host >= len(s.Hosts) {
		return false
	}
	c := s.cephState(msg.Host)
	if !c.reads.Current(msg.Route) {
		return false
	}
	c.Loading, c.Err, c.cancel = false, msg.Err, nil
	if msg.Err == nil {
		c.Views, c.Loaded = msg.Views, true
	}
	return true
}
