package libvirtx

import (
	"context"
	"errors"
	"fmt"
	"stowage/model"
	"sync"
	"time"
)

// Backoff is the reconnect schedule: Min doubling up to Max.
type Backoff struct{ Min, Max time.Duration }

// DefaultBackoff retries after 1 s, 2 s, 4 s … at most every 30 s.
var DefaultBackoff = Backoff{Min: time.Second, Max: 30 * time.Second}

func (b Backoff) after(failures int) time.Duration {
	d := b.Min
	for i := 1; i < failures && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	return d
}

// Session keeps one host's connection: it dials on demand, redials with
// backoff after the connection dropped or a call timed out, and reports
// connecting / connected / degraded / disconnected. Safe for concurrent use.
type Session struct {
	URI     string
	opts    Options
	backoff Backoff
	now     func() time.Time

	mu       sync.Mutex
	conn     *Conn
	status   model.Status
	failures int
	dialing  chan struct{}
}

// NewSession prepares a session; nothing is dialed until Conn is called.
func NewSession(uri string, o Options, b Backoff) *Session {
	if b.Min <= 0 {
		b = DefaultBackoff
	}
	return &Session{URI: uri, opts: o, backoff: b, now: time.Now, status: model.Status{State: model.StateConnecting}}
}

// Status returns the current state. A connection that dropped since the
// last call (libvirtd restarted or died mid-refresh) shows as degraded at
// once, not only at the next dial.
func (s *Session) Status() model.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		select {
		case <-s.conn.Disconnected():
			s.lostLocked("connection to libvirtd lost (it stopped or restarted); reconnecting")
		default:
		}
	}
	return s.status
}

// ErrBackoff is returned by Conn while waiting for the next retry.
var ErrBackoff = errors.New("waiting to reconnect")

// Conn returns a live connection, dialing when there is none and the
// backoff allows. While waiting for the next retry it returns the last
// error wrapped with ErrBackoff at once, so nothing ever blocks on a dead
// host.
func (s *Session) Conn(ctx context.Context) (*Conn, error) {
	for {
		s.mu.Lock()
		if s.conn != nil {
			select {
			case <-s.conn.Disconnected():
				s.lostLocked("connection closed")
			default:
				c := s.conn
				s.mu.Unlock()
				return c, nil
			}
		}
		if s.dialing != nil {
			wait := s.dialing
			s.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if s.failures > 0 && s.now().Before(s.status.NextRetry) {
			st := s.status
			s.mu.Unlock()
			return nil, fmt.Errorf("%s: %w (next try at %s): %w", s.URI, ErrBackoff, st.NextRetry.Format("15:04:05"), st.Err)
		}
		done := make(chan struct{})
		s.dialing = done
		if s.status.State != model.StateDegraded {
			s.status.State = model.StateConnecting
		}
		s.mu.Unlock()

		c, err := Dial(ctx, s.URI, s.opts)

		s.mu.Lock()
		s.dialing = nil
		close(done)
		if err != nil {
			s.failures++
			s.status = model.Status{State: model.StateDisconnected, Reason: err.Error(), Err: err,
				NextRetry: s.now().Add(s.backoff.after(s.failures))}
			s.mu.Unlock()
			return nil, err
		}
		s.conn, s.failures = c, 0
		s.status = model.Status{State: model.StateConnected}
		s.mu.Unlock()
		return c, nil
	}
}

// lostLocked records a dropped connection; the next Conn redials at once.
func (s *Session) lostLocked(reason string) {
	s.conn = nil
	if s.status.State == model.StateConnected {
		s.status = model.Status{State: model.StateDegraded, Reason: reason}
	}
}

// Report tells the session how a call went: a timeout marks the host
// degraded (the connection was closed by Conn.do and is redialed on the
// next Conn); success after a degraded spell marks it connected again.
func (s *Session) Report(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err == nil:
		if s.status.State == model.StateDegraded && s.conn != nil {
			s.status = model.Status{State: model.StateConnected}
		}
	case errors.Is(err, ErrTimeout):
		s.status = model.Status{State: model.StateDegraded, Reason: err.Error(), Err: err}
		if s.conn != nil {
			// Cut, never Close: Close sends ConnectClose, an RPC that a
			// libvirtd which stopped answering never answers either.
			s.conn.cut()
			s.conn = nil
		}
	}
}

// RetryNow forgets the backoff so the next Conn dials at once (after the
// admin trusted a host key, say).
func (s *Session) RetryNow() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = 0
	s.status.NextRetry = time.Time{}
}

// Close drops the connection.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}
