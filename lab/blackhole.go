package lab

import (
	"net"
	"sync"
	"testing"
)

// BlackHole is a TCP listener on loopback that accepts every connection
// and never sends a byte: a TLS server (or an SSH server, a proxy) that
// hangs in its handshake. Accepted tells the test a client got as far as
// TCP. Everything is closed in Cleanup.
type BlackHole struct {
	Addr string
	// Accepted receives once per accepted connection (buffered; extra
	// accepts do not block).
	Accepted chan struct{}

	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

// NewBlackHole starts one on 127.0.0.1 with a free port.
func NewBlackHole(t testing.TB) *BlackHole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("black hole: %v", err)
	}
	b := &BlackHole{Addr: ln.Addr().String(), Accepted: make(chan struct{}, 64), ln: ln}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
			select {
			case b.Accepted <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, c := range b.conns {
			c.Close()
		}
	})
	return b
}

// Port is the listener's port.
func (b *BlackHole) Port() string {
	_, p, _ := net.SplitHostPort(b.Addr)
	return p
}
