package libvirtx_test

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// libvirt's remote protocol (remote_protocol.x): the program and the
// procedures the tests hold. Stable wire numbers; go-libvirt keeps its own
// copy in an internal package.
const (
	remoteProgram               = 0x20008086
	procStoragePoolLookupByName = 84
	procStorageVolCreateXML     = 93
	procConnectListAllDomains   = 273
)

// holdProxy sits on a unix socket between go-libvirt and a private
// libvirtd, forwarding bytes both ways and reading the header of each call
// the client sends. Armed with HoldAt, it stops forwarding a connection's
// calls from the first call of that procedure on (that call included), and
// closes Held: from then on that call is pending for certain and its reply
// never comes, as from a libvirtd that stopped answering at that very call.
// It does not depend on when SIGSTOP takes hold, nor on any timing. Every
// other connection (a redial) is forwarded as usual.
type holdProxy struct {
	Sock string
	// Held is closed when the armed call arrived and was held.
	Held chan struct{}

	upstream string
	mu       sync.Mutex
	holdProc uint32 // 0: not armed
	conns    []net.Conn
}

func newHoldProxy(t *testing.T, upstream string) *holdProxy {
	t.Helper()
	// A short path: unix socket paths are limited to 108 bytes, and
	// subtests' TempDirs are long.
	dir, err := os.MkdirTemp("", "t-hold-")
	if err != nil {
		t.Fatal(err)
	}
	p := &holdProxy{Sock: filepath.Join(dir, "sock"), Held: make(chan struct{}), upstream: upstream}
	ln, err := net.Listen("unix", p.Sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		os.RemoveAll(dir)
	})
	return p
}

// URI opens the private daemon's session driver through the proxy.
func (p *holdProxy) URI() string { return "qemu:///session?socket=" + p.Sock }

// HoldAt arms the proxy: the next call of procedure proc, on any
// connection, is held with everything after it on that connection.
func (p *holdProxy) HoldAt(proc uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holdProc = proc
}

func (p *holdProxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = append(p.conns, cs...)
}

// holds reports whether hdr (a packet's header) is the armed call, and
// disarms the proxy if it is.
func (p *holdProxy) holds(hdr []byte) bool {
	program := binary.BigEndian.Uint32(hdr[0:4])
	proc := binary.BigEndian.Uint32(hdr[8:12])
	typ := binary.BigEndian.Uint32(hdr[12:16])
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.holdProc == 0 || program != remoteProgram || typ != 0 || proc != p.holdProc {
		return false
	}
	p.holdProc = 0
	close(p.Held)
	return true
}

func (p *holdProxy) serve(client net.Conn) {
	daemon, err := net.Dial("unix", p.upstream)
	if err != nil {
		client.Close()
		return
	}
	p.track(client, daemon)
	defer client.Close()
	defer daemon.Close()
	go func() {
		_, _ = io.Copy(client, daemon)
		client.Close()
	}()
	// Client to daemon, one packet at a time: a 4-byte length (itself
	// included), then a 24-byte header (program, version, procedure, type,
	// serial, status) and the payload.
	var lenBuf [4]byte
	for {
		if _, err := io.ReadFull(client, lenBuf[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(lenBuf[:])
		if n < 28 {
			return
		}
		rest := make([]byte, n-4)
		if _, err := io.ReadFull(client, rest); err != nil {
			return
		}
		if p.holds(rest[:24]) {
			// Swallow everything the client sends from now on, so its
			// writes never block, until it closes the socket.
			_, _ = io.Copy(io.Discard, client)
			return
		}
		if _, err := daemon.Write(append(lenBuf[:], rest...)); err != nil {
			return
		}
	}
}
