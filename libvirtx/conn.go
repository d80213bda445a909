package libvirtx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket"
	"github.com/digitalocean/go-libvirt/socket/dialers"

	"stowage/model"
)

// DefaultTimeout bounds every libvirt call that has no deadline of its own.
const DefaultTimeout = 15 * time.Second

// ErrTimeout marks a call that libvirtd did not answer in time; the
// connection is closed when it happens (see Conn.do). It wraps
// model.ErrTimeout, which callers outside libvirtx test.
var ErrTimeout = fmt.Errorf("libvirtd %w", model.ErrTimeout)

// ErrConnLost marks a call on a connection whose socket is gone: a timeout
// cut it (this call's or another's), libvirtd closed it, or it was closed.
// The error names that cause. A call that was in flight when it happened
// also matches the cause (ErrTimeout after a timeout's cut): its outcome is
// unknown. A call that found the socket gone was never sent. An owned
// connection redials on its next call instead (see DialOwned); a plain one
// must be dialed again.
var ErrConnLost = errors.New("connection to libvirtd lost")

var (
	errClosedByLibvirtd = errors.New("libvirtd (or the route to it) closed the connection")
	errClosed           = errors.New("the connection was closed")
	errCutByOwner       = errors.New("its owner cut the connection after a timeout")
)

// Options tune Dial.
type Options struct {
	// Timeout bounds dialing and each call; DefaultTimeout when zero.
	Timeout time.Duration
	// ReadOnly opens the connection read-only (the -ro socket locally).
	ReadOnly bool
	// SSHDialer builds the dialer for qemu+ssh URIs; NewSSHDialer (host-key
	// checks, agent, ~/.ssh/config, keepalives) when nil. Tests swap it.
	SSHDialer func(Target, time.Duration) (socket.Dialer, error)
	// SSHConfig holds ~/.ssh/config parsed once for all of a process's
	// dials; read afresh for each dial when nil.
	SSHConfig *SSHConfigCache
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

	mu sync.Mutex
	// sock is the socket in use and knows whether it is gone (see
	// trackedDialer.gone); l is the go-libvirt client speaking on it.
	sock   *trackedDialer
	l      *libvirt.Libvirt
	closed bool
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
// run after the step that timed out. A cut is known at once; a socket that
// libvirtd closed is known once go-libvirt or a call noticed it (a call
// that meets it first fails with ErrConnLost, unsent, and the next one
// redials). The owner closes it when done; it does not redial after Close.
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
	td := newTrackedDialer(d)
	l := libvirt.NewWithDialer(td)
	what := "connect to " + c.Target.Raw
	// ConnectToURI dials and opens the driver in one go. Read-only is
	// enforced by the daemon through the -ro socket (locally); remotely,
	// --readonly hides every mutating action in stowage itself.
	err = watch(ctx, c, td, what, c.timeout, false, func() error {
		if err := l.ConnectToURI(libvirt.ConnectURI(c.Target.Open)); err != nil {
			return explainDialError(c.Target, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// go-libvirt notices on its own when libvirtd closes the socket; relay
	// that to the socket's own record (a cut records itself at once).
	go func() {
		select {
		case <-l.Disconnected():
			td.lose(errClosedByLibvirtd)
		case <-td.gone:
		}
	}()
	c.sock, c.l = td, l
	return nil
}

// live returns the connection's current libvirt client and socket; for an
// owned connection whose socket is gone it dials again first.
//
// Whether the socket is gone is the socket's own record, never go-libvirt's
// IsConnected: go-libvirt marks itself disconnected on a goroutine of its
// own, after it has released the calls that were pending, so a call made
// right after a cut (a rollback after a timeout) still found it "connected"
// and failed on the dead socket with EINVAL, and kept failing until that
// goroutine ran. A cut records itself before it returns.
func (c *Conn) live(ctx context.Context) (*libvirt.Libvirt, *trackedDialer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, nil, lostError{target: c.Target.Raw, cause: errClosed}
	}
	if cause := c.sock.lost(); cause != nil {
		if !c.redial {
			return nil, nil, lostError{target: c.Target.Raw, cause: cause}
		}
		if err := c.connectLocked(ctx); err != nil {
			return nil, nil, fmt.Errorf("redial (the connection was lost: %v): %w", cause, err)
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
			return o.SSHConfig.Dialer(t, o.Timeout)
		}
		return o.SSHDialer(t, o.Timeout)
	}
	return nil, fmt.Errorf("%s: transport %q is not supported", t.Raw, t.Transport)
}

// Close disconnects; safe to call twice. An owned connection does not
// redial after it.
func (c *Conn) Close() error {
	c.mu.Lock()
	l, sock := c.l, c.sock
	c.closed = true
	c.mu.Unlock()
	if sock.lost() != nil {
		return nil
	}
	defer sock.lose(errClosed)
	// Disconnect sends ConnectClose and waits for libvirtd's answer: bound
	// it, and cut the socket when a stopped daemon never answers.
	done := make(chan error, 1)
	go func() { done <- l.Disconnect() }()
	select {
	case err := <-done:
		return err
	case <-time.After(c.timeout):
		sock.lose(fmt.Errorf("close %s: %w", c.Target.Raw, ErrTimeout))
		return fmt.Errorf("close %s: %w", c.Target.Raw, ErrTimeout)
	}
}

// cut closes the socket without a word to libvirtd (no RPC): what a
// timeout does, so that a daemon that stopped answering is never waited on.
func (c *Conn) cut() {
	c.mu.Lock()
	sock := c.sock
	c.mu.Unlock()
	sock.lose(errCutByOwner)
}

// Disconnected is closed when the connection drops (for an owned
// connection: the socket in use now; a redial makes a new one). A cut
// closes it before the cut call returns.
func (c *Conn) Disconnected() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sock.gone
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
// closed), so fn returns promptly. The cut is recorded on the socket, with
// its cause, before the socket closes: the next call on this connection
// knows at once (see live).
func bounded(ctx context.Context, c *Conn, sock *trackedDialer, what string, within time.Duration, fn func() error) error {
	return watch(ctx, c, sock, what, within, true, fn)
}

// watch is bounded; onCall tells a call on an established connection
// (whose error says so when the socket went away under it) from a dial,
// whose error stays the dialer's own words.
func watch(ctx context.Context, c *Conn, sock *trackedDialer, what string, within time.Duration, onCall bool, fn func() error) error {
	timedOut := func() error {
		return fmt.Errorf("%s on %s: %w (waited %s; connection closed)", what, c.Target.Raw, ErrTimeout, within)
	}
	cutDone := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(cutDone)
		if errors.Is(ctx.Err(), context.Canceled) {
			sock.lose(fmt.Errorf("%s was cancelled (%v)", what, ctx.Err()))
			return
		}
		sock.lose(timedOut())
	})
	err := fn()
	if stop() {
		// The watchdog did not fire: fn's own outcome stands, unless the
		// socket went away under it (another call's cut, libvirtd closing
		// it), which go-libvirt reports as EINVAL or an interruption.
		if err == nil {
			return nil
		}
		if onCall && socketGone(err) {
			sock.lose(errClosedByLibvirtd) // kept only if nothing cut it first
			return fmt.Errorf("%s: %w", what, lostError{target: c.Target.Raw, cause: sock.lost(),
				inFlight: errors.Is(err, libvirt.ErrInterrupted), err: err})
		}
		return fmt.Errorf("%s: %w", what, markNotFound(err))
	}
	// fn may have returned just as the watchdog started: let the cut
	// finish, so that the next call knows of it.
	<-cutDone
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	if errors.Is(err, ErrTimeout) {
		// The dialer timed out on its own and said where (a hop of an
		// SSH route, a TLS handshake): its words beat the generic ones.
		return fmt.Errorf("%s: %w", what, err)
	}
	return timedOut()
}

// socketGone reports whether err says the call's socket is gone rather than
// what libvirtd answered: go-libvirt returns EINVAL for a call on a socket
// it found closed (not sent) and ErrInterrupted for a call whose socket
// closed while it waited (sent, outcome unknown); writes on a closed or
// reset socket fail with the rest.
func socketGone(err error) bool {
	var le libvirt.Error
	if errors.As(err, &le) {
		return false // libvirtd's own answer
	}
	return errors.Is(err, libvirt.ErrInterrupted) || errors.Is(err, syscall.EINVAL) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// lostError is a call's error on a socket that is gone; it matches
// ErrConnLost and names the cause. A call in flight when the socket went
// away also matches the cause: a timeout's cut leaves its outcome as
// unknown as the timed-out call's own.
type lostError struct {
	target   string
	cause    error
	inFlight bool
	err      error // go-libvirt's own words, if any
}

func (e lostError) Error() string {
	switch {
	case e.inFlight:
		return fmt.Sprintf("%v (%s) while waiting for its answer; the outcome is unknown: %v", ErrConnLost, e.target, e.cause)
	case e.err != nil:
		return fmt.Sprintf("%v (%s); the call was not sent: %v", ErrConnLost, e.target, e.cause)
	}
	return fmt.Sprintf("%v (%s); the call was not sent (dial again): %v", ErrConnLost, e.target, e.cause)
}

func (e lostError) Unwrap() []error {
	if e.inFlight {
		return []error{ErrConnLost, e.cause}
	}
	return []error{ErrConnLost}
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
// close it without another RPC, and records when and why that socket is
// gone: the connection's own truth, set before a cut returns (go-libvirt's
// IsConnected catches up later, on a goroutine of its own).
type trackedDialer struct {
	d  socket.Dialer
	mu sync.Mutex
	// conn is the dialed socket; nil before Dial.
	conn net.Conn
	// cause says why the socket is gone; nil while it is usable.
	cause error
	// gone is closed when cause is set.
	gone chan struct{}
}

func newTrackedDialer(d socket.Dialer) *trackedDialer {
	return &trackedDialer{d: d, gone: make(chan struct{})}
}

func (t *trackedDialer) Dial() (net.Conn, error) {
	c, err := t.d.Dial()
	if err == nil {
		t.mu.Lock()
		t.conn = c
		if t.cause != nil {
			// The call's time ran out while dialing: nothing would bound
			// the first RPC on this socket.
			_ = c.Close()
		}
		t.mu.Unlock()
	}
	return c, err
}

// lose records why the socket is gone (the first cause stays) and closes
// gone, then closes the socket without a word to libvirtd: a call that the
// close releases finds the record already made. Safe to call again.
func (t *trackedDialer) lose(cause error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cause == nil {
		t.cause = cause
		close(t.gone)
	}
	if t.conn != nil {
		_ = t.conn.Close()
	}
}

// lost returns why the socket is gone, nil while it is usable.
func (t *trackedDialer) lost() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cause
}
