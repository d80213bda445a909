package env

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeConn counts itself open until closed; drop simulates a timed-out
// call that closed the socket.
type fakeConn struct {
	uri    string
	open   *int
	mu     *sync.Mutex
	gone   chan struct{}
	closed bool
	// shut is closed once Close ran.
	shut chan struct{}
}

func (c *fakeConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		*c.open--
		close(c.shut)
	}
	return nil
}

func (c *fakeConn) Disconnected() <-chan struct{} { return c.gone }

type fakeDialer struct {
	mu    sync.Mutex
	open  int
	dials int
}

func (d *fakeDialer) dial(_ context.Context, uri string) (*fakeConn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.open++
	d.dials++
	return &fakeConn{uri: uri, open: &d.open, mu: &d.mu, gone: make(chan struct{}), shut: make(chan struct{})}, nil
}

func (d *fakeDialer) counts() (open, dials int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.open, d.dials
}

// A screen's scope closes exactly its connections; the root's Close (at
// exit) closes the rest, scopes still open included; nothing opens after.
func TestConnectorScopesCloseTheirConnections(t *testing.T) {
	ctx := context.Background()
	d := &fakeDialer{}
	root := NewConnector(d.dial)
	a, _ := root.Conn(ctx, "qemu:///system")
	if again, _ := root.Conn(ctx, "qemu:///system"); again != a {
		t.Fatal("a second ask dialed again instead of sharing the connection")
	}
	for range 3 {
		// Each wizard opened and closed: what the LVM-on-iSCSI action does.
		s := root.Scope(nil)
		if _, err := s.Conn(ctx, "qemu+ssh://hv/system"); err != nil {
			t.Fatal(err)
		}
		if open, _ := d.counts(); open != 2 || root.Open() != 2 {
			t.Fatalf("%d open (root says %d) with a wizard open; want 2", open, root.Open())
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Conn(ctx, "qemu+ssh://hv/system"); !errors.Is(err, ErrClosed) {
			t.Fatalf("a closed scope dialed again (%v): a late Cmd of a closed screen would leak it", err)
		}
		if open, _ := d.counts(); open != 1 || root.Open() != 1 {
			t.Fatalf("%d open after the wizard closed; want 1 (the root's)", open)
		}
	}
	left := root.Scope(nil)
	_, _ = left.Conn(ctx, "qemu+ssh://hv2/system")
	if err := root.Close(); err != nil {
		t.Fatal(err)
	}
	if open, _ := d.counts(); open != 0 {
		t.Fatalf("%d connections open after the root closed", open)
	}
	if _, err := root.Scope(nil).Conn(ctx, "qemu:///system"); !errors.Is(err, ErrClosed) {
		t.Errorf("a scope of a closed root dialed: %v", err)
	}
}

// A connection that dropped is closed and dialed again, not handed out.
func TestConnectorRedialsADroppedConnection(t *testing.T) {
	ctx := context.Background()
	d := &fakeDialer{}
	c := NewConnector(d.dial)
	first, _ := c.Conn(ctx, "qemu:///system")
	close(first.gone)
	second, _ := c.Conn(ctx, "qemu:///system")
	if second == first {
		t.Fatal("a dropped connection was handed out again")
	}
	if open, dials := d.counts(); open != 1 || dials != 2 {
		t.Errorf("open %d dials %d; want 1 and 2", open, dials)
	}
	_ = c.Close()
}

// Release (a screen closing) detaches at once: the connector is closed and
// counts nothing, and its connection is closed in the background, so the
// screen never waits on a daemon's answer.
func TestConnectorReleaseDetachesAtOnce(t *testing.T) {
	ctx := context.Background()
	d := &fakeDialer{}
	root := NewConnector(d.dial)
	s := root.Scope(nil)
	conn, err := s.Conn(ctx, "qemu+ssh://hv/system")
	if err != nil {
		t.Fatal(err)
	}
	s.Release()
	if n := root.Open(); n != 0 {
		t.Fatalf("root counts %d after the scope was released", n)
	}
	if _, err := s.Conn(ctx, "qemu+ssh://hv/system"); !errors.Is(err, ErrClosed) {
		t.Fatalf("a released scope dialed: %v", err)
	}
	<-conn.shut // the background close ran (a missing one hangs until go test's timeout)
	if open, _ := d.counts(); open != 0 {
		t.Errorf("%d open after the background close", open)
	}
	s.Release() // twice is harmless
	_ = root.Close()
}

// gatedDialer blocks each dial until its URI's gate opens, and announces
// every dial's start, so a test can see which dials are in flight at once.
type gatedDialer struct {
	fakeDialer
	started chan string
	gates   map[string]chan struct{}
}

func newGatedDialer(uris ...string) *gatedDialer {
	d := &gatedDialer{started: make(chan string, 16), gates: map[string]chan struct{}{}}
	for _, u := range uris {
		d.gates[u] = make(chan struct{})
	}
	return d
}

func (d *gatedDialer) dial(ctx context.Context, uri string) (*fakeConn, error) {
	d.started <- uri
	<-d.gates[uri]
	return d.fakeDialer.dial(ctx, uri)
}

// A slow or dead host must not hold up the others: while one dial is in
// flight, a dial to another host starts (the connector used to hold its
// lock while dialing, so a fleet's hosts were dialed one at a time).
func TestConnectorDialsHostsSideBySide(t *testing.T) {
	d := newGatedDialer("qemu+ssh://a/system", "qemu+ssh://b/system")
	c := NewConnector(d.dial)
	results := make(chan error, 2)
	go func() { _, err := c.Conn(context.Background(), "qemu+ssh://a/system"); results <- err }()
	if got := <-d.started; got != "qemu+ssh://a/system" {
		t.Fatalf("first dial was to %s", got)
	}
	go func() { _, err := c.Conn(context.Background(), "qemu+ssh://b/system"); results <- err }()
	// Only a deadlock guard: B's dial starts at once unless the connector
	// serialises dials.
	select {
	case got := <-d.started:
		if got != "qemu+ssh://b/system" {
			t.Fatalf("second dial was to %s", got)
		}
	case <-time.After(time.Minute):
		t.Fatal("the dial to b did not start while the dial to a was in flight: the connector serialises dials")
	}
	close(d.gates["qemu+ssh://b/system"])
	if err := <-results; err != nil {
		t.Fatal(err)
	}
	close(d.gates["qemu+ssh://a/system"])
	if err := <-results; err != nil {
		t.Fatal(err)
	}
	if open, dials := d.counts(); open != 2 || dials != 2 || c.Open() != 2 {
		t.Fatalf("open %d, dials %d, connector holds %d; want 2, 2, 2", open, dials, c.Open())
	}
}

// A second ask for a host being dialed waits for that dial (and gives up
// with its own context) instead of opening a second connection.
func TestConnectorSharesADialInFlight(t *testing.T) {
	const uri = "qemu+ssh://a/system"
	d := newGatedDialer(uri)
	c := NewConnector(d.dial)
	first := make(chan *fakeConn, 1)
	go func() { conn, _ := c.Conn(context.Background(), uri); first <- conn }()
	<-d.started
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Conn(cancelled, uri); !errors.Is(err, context.Canceled) {
		t.Fatalf("second ask during the dial: %v; want it to wait on the dial in flight (context.Canceled)", err)
	}
	close(d.gates[uri])
	conn := <-first
	if again, err := c.Conn(context.Background(), uri); err != nil || again != conn {
		t.Fatalf("after the dial: %v, same connection %v", err, again == conn)
	}
	if _, dials := d.counts(); dials != 1 {
		t.Fatalf("%d dials for one host; want 1", dials)
	}
}

// A connector closed while a dial is in flight keeps nothing open: the
// connection that arrives late is closed and the ask fails with ErrClosed.
func TestConnectorClosedDuringDialClosesTheLateConnection(t *testing.T) {
	const uri = "qemu+ssh://a/system"
	d := newGatedDialer(uri)
	c := NewConnector(d.dial)
	done := make(chan error, 1)
	go func() { _, err := c.Conn(context.Background(), uri); done <- err }()
	<-d.started
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	close(d.gates[uri])
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("dial finished after Close: %v; want ErrClosed", err)
	}
	if open, dials := d.counts(); open != 0 || dials != 1 {
		t.Fatalf("open %d after Close (dials %d); want 0", open, dials)
	}
}
