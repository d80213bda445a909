package env

import (
	"context"
	"errors"
	"sync"
)

// Conn is what a Connector needs of a connection: *libvirtx.Conn, or a
// fake in a test that counts what is open.
type Conn interface {
	Close() error
	Disconnected() <-chan struct{}
}

// ErrClosed is a connection asked of a Connector (or scope) that was
// closed: its screen is gone, so nothing may open a connection for it.
var ErrClosed = errors.New("the connector was closed (its screen closed)")

// Connector hands out one connection per host URI, dialed on first use
// and dialed again after it dropped (a timed-out call closes it), and
// closes every connection it made when it is closed. Safe for concurrent
// use from screens' tea.Cmds.
//
// Scopes give a connection an owner: the environment holds the root, a
// screen that needs connections of its own (the LVM-on-iSCSI wizard, whose
// calls run for minutes) takes a Scope and closes it when it closes; the
// root's Close, at exit, closes whatever scopes are still open.
type Connector[C Conn] struct {
	dial func(ctx context.Context, uri string) (C, error)

	mu     sync.Mutex
	open   map[string]C
	scopes map[*Connector[C]]bool
	parent *Connector[C]
	closed bool
}

// NewConnector returns a root connector dialing with dial.
func NewConnector[C Conn](dial func(ctx context.Context, uri string) (C, error)) *Connector[C] {
	return &Connector[C]{dial: dial, open: map[string]C{}, scopes: map[*Connector[C]]bool{}}
}

// Conn returns the connection to uri, dialing it if there is none or it
// dropped. The lock is held while dialing: two screens' Cmds asking at once
// share one dial rather than open two connections.
func (c *Connector[C]) Conn(ctx context.Context, uri string) (C, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero C
	if c.closed {
		return zero, ErrClosed
	}
	if conn, ok := c.open[uri]; ok {
		select {
		case <-conn.Disconnected():
			_ = conn.Close()
			delete(c.open, uri)
		default:
			return conn, nil
		}
	}
	conn, err := c.dial(ctx, uri)
	if err != nil {
		return zero, err
	}
	c.open[uri] = conn
	return conn, nil
}

// Scope returns a child with dial (the parent's when nil) and connections
// of its own; closing it closes only those. Closing the parent closes it.
func (c *Connector[C]) Scope(dial func(ctx context.Context, uri string) (C, error)) *Connector[C] {
	if dial == nil {
		dial = c.dial
	}
	s := NewConnector(dial)
	s.parent = c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		s.closed = true
		return s
	}
	c.scopes[s] = true
	return s
}

// Close closes every connection this connector and its scopes made; later
// calls to Conn fail with ErrClosed. Safe to call twice.
func (c *Connector[C]) Close() error {
	conns, scopes := c.detach()
	return closeAll(conns, scopes)
}

// Release is Close for a screen that is closing on the UI's path: the
// connector is closed at once (Conn fails, Open no longer counts it) and
// its connections are closed in the background. A connection's Close
// waits for the daemon's answer, up to the per-call bound (minutes for
// the LVM-on-iSCSI wizard); the screen must not stay open that long.
func (c *Connector[C]) Release() {
	conns, scopes := c.detach()
	if len(conns) > 0 || len(scopes) > 0 {
		go func() { _ = closeAll(conns, scopes) }()
	}
}

// detach marks c closed and takes what it holds, without I/O.
func (c *Connector[C]) detach() ([]C, []*Connector[C]) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, nil
	}
	c.closed = true
	var conns []C
	for _, conn := range c.open {
		conns = append(conns, conn)
	}
	var scopes []*Connector[C]
	for s := range c.scopes {
		scopes = append(scopes, s)
	}
	c.open, c.scopes = nil, nil
	c.mu.Unlock()
	if p := c.parent; p != nil {
		p.mu.Lock()
		delete(p.scopes, c)
		p.mu.Unlock()
	}
	return conns, scopes
}

func closeAll[C Conn](conns []C, scopes []*Connector[C]) error {
	var errs []error
	for _, s := range scopes {
		errs = append(errs, s.Close())
	}
	for _, conn := range conns {
		errs = append(errs, conn.Close())
	}
	return errors.Join(errs...)
}

// Open counts the connections this connector and its scopes hold open.
func (c *Connector[C]) Open() int {
	c.mu.Lock()
	n := len(c.open)
	scopes := make([]*Connector[C], 0, len(c.scopes))
	for s := range c.scopes {
		scopes = append(scopes, s)
	}
	c.mu.Unlock()
	for _, s := range scopes {
		n += s.Open()
	}
	return n
}
