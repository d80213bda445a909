package libvirtx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

// DefaultTimeout bounds every libvirt call that has no deadline of its own.
const DefaultTimeout = 15 * time.Second

// ErrTimeout marks a call that libvirtd did not answer in time; the
// connection is closed when it happens (see Conn.do).
var ErrTimeout = errors.New("libvirtd did not answer in time")

// Options tune Dial.
type Options struct {
	// Timeout bounds dialing and each call; DefaultTimeout when zero.
	Timeout time.Duration
	// ReadOnly opens the connection read-only (the -ro socket locally).
	ReadOnly bool
	// SSHDialer builds the dialer for qemu+ssh URIs; NewSSHDialer (host-key
	// checks, agent, ~/.ssh/config, keepalives) when nil. Tests swap it.
	SSHDialer func(Target, time.Duration) (socket.Dialer, error)
}

// Conn is one connection to one libvirtd, safe for concurrent use: go-libvirt
// pipelines concurrent calls on the one socket.
type Conn struct {
	Target  Target
	opts    Options
	timeout time.Duration
	// redial: a call that finds the socket gone dials again first (see
	// DialOwned). Fixed at creation.
	redial bool

	mu   sync.Mutex
	sock *trackedDialer
	l    *libvirt.Libvirt
}

// Dial connects to the host named by uri and opens its driver.
func Dial(ctx context.Context, uri string, o Options) (*Conn, error) {
	return dial(ctx, uri, o, false)
}

// DialOwned is Dial for a workflow that owns its connection (a drive
// create, a rollback): no refresh or other screen shares it, so nothing
// else can cut it, and when its socket is gone (a timeout cut it, libvirtd
// restarted) the next call dials again, within that call's deadline,
// instead of failing on a dead connection. That is what lets a rollback
// run after the step that timed out. The owner closes it when done.
func DialOwned(ctx context.Context, uri string, o Options) (*Conn, error) {
	return dial(ctx, uri, o, true)
}

func dial(ctx context.Context, uri string, o Options, redial bool) (*Conn, error) {
	t, err := ParseURI(uri, o.ReadOnly)
	if err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	c := &Conn{Target: t, opts: o, timeout: o.Timeout, redial: redial}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.connectLocked(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// connectLocked dials a fresh socket and opens the driver, bounded by ctx
// (the watchdog cuts the socket, never an RPC). c.mu is held.
func (c *Conn) connectLocked(ctx context.Context) error {
	d, err := dialerFor(c.Target, c.opts)
	if err != nil {
		return err
	}
	td := &trackedDialer{d: d}
	l := libvirt.NewWithDialer(td)
	what := "connect to " + c.Target.Raw
	// ConnectToURI dials and opens the driver in one go. Read-only is
	// enforced by the daemon through the -ro socket (locally); remotely,
	// --readonly hides every mutating action in stowage itself.
	err = bounded(ctx, c, td, what, c.timeout, func() error {
		if err := l.ConnectToURI(libvirt.ConnectURI(c.Target.Open)); err != nil {
			return explainDialError(c.Target, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.sock, c.l = td, l
	return nil
}

// live returns the connection's current libvirt client and socket; for an
// owned connection whose socket is gone it dials again first.
func (c *Conn) live(ctx context.Context) (*libvirt.Libvirt, *trackedDialer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.redial && !c.l.IsConnected() {
		if err := c.connectLocked(ctx); err != nil {
			return nil, nil, fmt.Errorf("redial %s (the connection was lost): %w", c.Target.Raw, err)
		}
	}
	return c.l, c.sock, nil
}

func dialerFor(t Target, o Options) (socket.Dialer, error) {
	switch t.Transport {
	case "unix":
		return dialers.NewLocal(dialers.WithSocket(t.Socket), dialers.WithLocalTimeout(o.Timeout)), nil
	case "tcp":
		opts := []dialers.RemoteOption{dialers.WithRemoteTimeout(o.Timeout)}
		if t.Port != "" {
			opts = append(opts, dialers.UsePort(t.Port))
		}
		return dialers.NewRemote(t.Host, opts...), nil
	case "tls":
		return newTLSDialer(t, o.Timeout)
	case "ssh":
		if o.SSHDialer == nil {
			return NewSSHDialer(t, o.Timeout)
		}
		return o.SSHDialer(t, o.Timeout)
	}
	return nil, fmt.Errorf("%s: transport %q is not supported", t.Raw, t.Transport)
}

// Close disconnects; safe to call twice.
func (c *Conn) Close() error {
	c.mu.Lock()
	l, sock := c.l, c.sock
	c.mu.Unlock()
	if !l.IsConnected() {
		return nil
	}
	// Disconnect sends ConnectClose and waits for libvirtd's answer: bound
	// it, and cut the socket when a stopped daemon never answers.
	done := make(chan error, 1)
	go func() { done <- l.Disconnect() }()
	select {
	case err := <-done:
		return err
	case <-time.After(c.timeout):
		sock.cut()
		return fmt.Errorf("close %s: %w", c.Target.Raw, ErrTimeout)
	}
}

// cut closes the socket without a word to libvirtd (no RPC): what a
// timeout does, so that a daemon that stopped answering is never waited on.
func (c *Conn) cut() {
	c.mu.Lock()
	sock := c.sock
	c.mu.Unlock()
	sock.cut()
}

// Disconnected is closed when the connection drops (for an owned
// connection: the socket in use now; a redial makes a new one).
func (c *Conn) Disconnected() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.l.Disconnected()
}

// Timeout is the per-call bound this connection applies.
func (c *Conn) Timeout() time.Duration { return c.timeout }

// do runs fn against libvirt with the connection's timeout (or ctx's
// earlier deadline). go-libvirt cannot cancel a call, so on expiry the
// connection is closed, which makes every pending call return; the caller
// must reconnect (an owned connection does so on its next call).
func (c *Conn) do(ctx context.Context, what string, fn func(*libvirt.Libvirt) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	l, sock, err := c.live(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return bounded(ctx, c, sock, what, c.timeout, func() error { return fn(l) })
}

// bounded runs fn on the caller's goroutine (no goroutine per call:
// 10,000 volume reads spent a tenth of their CPU in the scheduler) until
// ctx ends. On expiry the watchdog closes the socket, never Disconnect():
// that is itself an RPC a stopped libvirtd never answers. A closed socket
// makes every pending go-libvirt call return (their reply channels are
// closed), so fn returns promptly.
func bounded(ctx context.Context, c *Conn, sock *trackedDialer, what string, within time.Duration, fn func() error) error {
	stop := context.AfterFunc(ctx, sock.cut)
	err := fn()
	if stop() {
		// The watchdog did not fire: fn's own outcome stands.
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	if errors.Is(err, ErrTimeout) {
		// The dialer timed out on its own and said where (a hop of an
		// SSH route, a TLS handshake): its words beat the generic ones.
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s on %s: %w (waited %s; connection closed)", what, c.Target.Raw, ErrTimeout, within)
}

// call is do for calls that return a value.
func call[T any](ctx context.Context, c *Conn, what string, fn func(*libvirt.Libvirt) (T, error)) (T, error) {
	var out T
	err := c.do(ctx, what, func(l *libvirt.Libvirt) error {
		v, err := fn(l)
		out = v
		return err
	})
	return out, err
}

// Versions returns libvirt's and the hypervisor's versions as "9.0.0".
func (c *Conn) Versions(ctx context.Context) (lib, hv string, err error) {
	lv, err := call(ctx, c, "get libvirt version", func(l *libvirt.Libvirt) (uint64, error) { return l.ConnectGetLibVersion() })
	if err != nil {
		return "", "", err
	}
	hvv, err := call(ctx, c, "get hypervisor version", func(l *libvirt.Libvirt) (uint64, error) { return l.ConnectGetVersion() })
	if err != nil {
		return "", "", err
	}
	return FormatVersion(lv), FormatVersion(hvv), nil
}

// FormatVersion turns libvirt's major*1e6+minor*1e3+micro into "M.m.u".
func FormatVersion(v uint64) string {
	return fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000)
}

// trackedDialer remembers the socket go-libvirt dialed so a timeout can
// close it without another RPC.
type trackedDialer struct {
	d     socket.Dialer
	mu    sync.Mutex
	conn  net.Conn
	isCut bool
}

func (t *trackedDialer) Dial() (net.Conn, error) {
	c, err := t.d.Dial()
	if err == nil {
		t.mu.Lock()
		t.conn = c
		if t.isCut {
			// The call's time ran out while dialing: nothing would bound
			// the first RPC on this socket.
			_ = c.Close()
		}
		t.mu.Unlock()
	}
	return c, err
}

func (t *trackedDialer) cut() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.isCut = true
	if t.conn != nil {
		_ = t.conn.Close()
	}
}
