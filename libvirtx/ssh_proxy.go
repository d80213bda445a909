package libvirtx

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A ProxyCommand is the transport to the first SSH server: OpenSSH runs
// `exec COMMAND` with the user's shell and speaks SSH over its stdin and
// stdout; stowage does the same with /bin/sh. The command runs in a
// session of its own, without the terminal: a command that would prompt
// there (an ssh -W without a key) would fight the console for the keys,
// so it fails instead, and its stderr says why. Closing the connection
// kills the command and reaps it.

// proxyStderrMax bounds how much of the command's stderr is kept.
const proxyStderrMax = 4096

// proxyExitGrace bounds the wait for a ProxyCommand to exit on its own
// after the SSH stream ended, before its exit status is read.
const proxyExitGrace = 2 * time.Second

// proxyCommandConn is a running ProxyCommand as a net.Conn.
type proxyCommandConn struct {
	command string
	addr    proxyAddr
	cmd     *exec.Cmd
	r       *os.File // the command's stdout
	w       *os.File // the command's stdin
	stderr  *cappedBuffer

	exited  chan struct{} // closed once the command is reaped
	waitErr error         // set before exited is closed
	once    sync.Once
}

// startProxyCommand runs command (tokens already expanded) for the SSH
// server at addr.
func startProxyCommand(command, addr string) (*proxyCommandConn, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("ProxyCommand: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("ProxyCommand: %w", err)
	}
	p := &proxyCommandConn{
		command: command, addr: proxyAddr(addr), r: outR, w: inW,
		stderr: &cappedBuffer{max: proxyStderrMax}, exited: make(chan struct{}),
	}
	p.cmd = exec.Command("/bin/sh", "-c", "exec "+command)
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = inR, outW, p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// A child of the command that keeps stderr open must not keep Wait
	// (and so Close) waiting once the command itself is gone.
	p.cmd.WaitDelay = time.Second
	err = p.cmd.Start()
	// The child's ends are the child's now (or nobody's, on failure).
	inR.Close()
	outW.Close()
	if err != nil {
		outR.Close()
		inW.Close()
		return nil, fmt.Errorf("ProxyCommand `%s`: %w", command, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stream is p for the SSH client: its Close ends the streams only. x/crypto
// closes the connection on a failed handshake; the command must live on
// until failure has read its exit status. The attempt (or sshConn) kills
// it with Close.
func (p *proxyCommandConn) stream() net.Conn { return proxyStream{p} }

type proxyStream struct{ *proxyCommandConn }

func (s proxyStream) Close() error {
	s.w.Close()
	s.r.Close()
	return nil
}

func (p *proxyCommandConn) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *proxyCommandConn) Write(b []byte) (int, error) { return p.w.Write(b) }

// Close ends the command: EOF on its stdin, SIGKILL, and waits until it is
// reaped (no zombie is left behind).
func (p *proxyCommandConn) Close() error {
	p.once.Do(func() {
		p.w.Close()
		p.r.Close()
		select {
		case <-p.exited:
		default:
			// os.Process signals through a pidfd: never a recycled PID.
			_ = p.cmd.Process.Kill()
		}
		<-p.exited
	})
	return nil
}

// failure tells, after the SSH stream ended early, whether the command
// itself failed (say, it could not connect): it waits a little (bounded
// by left) for the command to exit, and a non-zero status with its
// stderr is the answer. A command still running, or one that exited 0,
// only relayed the server's hang-up.
func (p *proxyCommandConn) failure(left time.Duration) (bool, string) {
	p.w.Close() // EOF on its stdin: nothing more is coming
	wait := time.NewTimer(min(left, proxyExitGrace))
	defer wait.Stop()
	select {
	case <-p.exited:
	case <-wait.C:
		return false, ""
	}
	var ee *exec.ExitError
	switch {
	case p.waitErr == nil:
		return false, ""
	case errors.As(p.waitErr, &ee):
		msg := fmt.Sprintf("ProxyCommand `%s` failed (%s)", p.command, ee.ProcessState)
		if s := strings.TrimSpace(p.stderr.String()); s != "" {
			msg += ": " + s
		}
		return true, msg
	default:
		return true, fmt.Sprintf("ProxyCommand `%s`: %v", p.command, p.waitErr)
	}
}

func (p *proxyCommandConn) LocalAddr() net.Addr  { return proxyAddr("") }
func (p *proxyCommandConn) RemoteAddr() net.Addr { return p.addr }

func (p *proxyCommandConn) SetDeadline(t time.Time) error {
	if err := p.r.SetReadDeadline(t); err != nil {
		return err
	}
	return p.w.SetWriteDeadline(t)
}
func (p *proxyCommandConn) SetReadDeadline(t time.Time) error  { return p.r.SetReadDeadline(t) }
func (p *proxyCommandConn) SetWriteDeadline(t time.Time) error { return p.w.SetWriteDeadline(t) }

// proxyAddr is the SSH server a ProxyCommand leads to, as host:port
// (known_hosts checks split it).
type proxyAddr string

func (a proxyAddr) Network() string { return "proxycommand" }
func (a proxyAddr) String() string {
	if a == "" {
		return "0.0.0.0:0"
	}
	return string(a)
}

// cappedBuffer keeps the first max bytes written to it.
type cappedBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (c *cappedBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.b)
}
