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

	mu      sync.Mutex
	open    map[string]C
	dialing map[string]*pendingDial[C]
	scopes  map[*Connector[C]]bool
	parent  *Connector[C]
	closed  bool
}

// pendingDial is one dial in flight; done is closed once conn and err are
// set, so that a second ask for the same URI waits for it.
type pendingDial[C Conn] struct {
	done chan struct{}
	conn C
	err  error
}

// NewConnector returns a root connector dialing with dial.
func NewConnector[C Conn](dial func(ctx context.Context, uri string) (C, error)) *Connector[C] {
	return &Connector[C]{dial: dial, open: map[string]C{}, dialing: map[string]*pendingDial[C]{},
		scopes: map[*Connector[C]]bool{}}
}

// Conn returns the connection to uri, dialing it if there is none or it
// dropped. Two asks for the same URI at once share one dial rather than
// open two connections; dials to different URIs run side by side (the lock
// is not held while dialing: a wizard listing a fleet's hosts must not
// wait for each SSH handshake in turn, nor a dead host hold up the rest).
func (c *Connector[C]) Conn(ctx context.Context, uri string) (C, error) {
	var zero C
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return zero, ErrClosed
		}
		if conn, ok := c.open[uri]; ok {
			select {
			case <-conn.Disconnected():
				_ = conn.Close()
				delete(c.open, uri)
			default:
				c.mu.Unlock()
				return conn, nil
			}
		}
		if p, ok := c.dialing[uri]; ok {
			c.mu.Unlock()
			select {
			case <-p.done:
			case <-ctx.Done():
				return zero, ctx.Err()
			}
			if p.err != nil {
				return zero, p.err
			}
			continue // the shared dial's connection, unless it dropped or c closed since
		}
		p := &pendingDial[C]{done: make(chan struct{})}
		c.dialing[uri] = p
		c.mu.Unlock()
		return c.dialFor(ctx, uri, p)
	}
}

// dialFor makes the dial p stands for and files its connection; a
// connector closed meanwhile gets no connection (it is closed at once).
func (c *Connector[C]) dialFor(ctx context.Context, uri string, p *pendingDial[C]) (C, error) {
	var zero C
	conn, err := c.dial(ctx, uri)
	c.mu.Lock()
	delete(c.dialing, uri)
	if err == nil && c.closed {
		_ = conn.Close()
		conn, err = zero, ErrClosed
	}
	if err == nil {
		c.open[uri] = conn
	}
	p.conn, p.err = conn, err
	close(p.done)
	c.mu.Unlock()
	return conn, err
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
