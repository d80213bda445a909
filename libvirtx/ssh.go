package libvirtx

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/digitalocean/go-libvirt/socket"
	sshconfig "github.com/kevinburke/ssh_config"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"stowage/model"
	"stowage/plan"
)

// The qemu+ssh transport. go-libvirt's own SSH dialer ignores ~/.ssh/config
// and cannot ask before trusting a host key; this one:
//   - resolves Host aliases, HostName, User, Port and IdentityFile from
//     ~/.ssh/config (the URI's user, port and ?keyfile= win);
//   - reaches the host through ProxyJump hosts or a ProxyCommand from
//     ~/.ssh/config (ssh_route.go, ssh_proxy.go), each jump host with its
//     own settings and its own host-key check;
//   - verifies every host key against known_hosts (the URI's
//     ?known_hosts=, else ~/.ssh/known_hosts) and, for a host it does not
//     list, fails with *model.UnknownHostKeyError naming the hop, so the UI can
//     show the fingerprint and ask; a changed key is refused outright
//     (possible man in the middle);
//   - authenticates with the SSH agent ($SSH_AUTH_SOCK) and key files;
//   - tries again, with randomized pauses, when sshd drops the connection
//     before the handshake (MaxStartups; ssh_retry.go);
//   - bounds the whole dial, every handshake and tunnel included, by the
//     dial timeout, so a hop that never answers cannot hang it;
//   - forwards to libvirtd's unix socket on the host (direct-streamlocal);
//   - sends SSH keepalives, so a vanished host is noticed and the socket
//     closed (go-libvirt's Disconnected() then fires).

// SSHKeepalive is how often a keepalive request goes to the SSH server;
// three unanswered in a row close the connection.
const SSHKeepalive = 10 * time.Second

// TrustedHostKey is the known_hosts line TrustHostKey wrote.
type TrustedHostKey struct {
	File, Line string
}

// TrustHostKey appends to known_hosts (created 0600 with its directory if
// missing) exactly the key the admin was shown: shown is what the screen
// displayed, latest what the host's most recent dial met. When they differ
// (the server now presents another key, or another hop asks) nothing is
// written and the error wraps ErrHostKeyNotShown: the admin must look at
// the new fingerprint first.
func TrustHostKey(shown, latest *model.UnknownHostKeyError) (TrustedHostKey, error) {
	if shown == nil || len(shown.Key) == 0 {
		return TrustedHostKey{}, errors.New("no host key was shown to trust")
	}
	key, err := ssh.ParsePublicKey(shown.Key)
	if err != nil || shown.Fingerprint != ssh.FingerprintSHA256(key) {
		return TrustedHostKey{}, fmt.Errorf("trust host key %s: the fingerprint shown (%s) is not its key's: %w", shown.Subject(), shown.Fingerprint, model.ErrHostKeyNotShown)
	}
	if latest == nil {
		return TrustedHostKey{}, fmt.Errorf("trust host key %s %s: the host no longer asks for an unknown key (its latest dial met none): %w",
			shown.Subject(), shown.Fingerprint, model.ErrHostKeyNotShown)
	}
	if !shown.SameKey(latest) {
		return TrustedHostKey{}, fmt.Errorf("trust host key %s %s: the latest dial met %s %s %s instead; nothing written, compare the new fingerprint first: %w",
			shown.Subject(), shown.Fingerprint, latest.Subject(), latest.KeyType, latest.Fingerprint, model.ErrHostKeyNotShown)
	}
	t := TrustedHostKey{File: shown.KnownHosts, Line: knownhosts.Line([]string{shown.Host}, key)}
	if err := os.MkdirAll(filepath.Dir(t.File), 0o700); err != nil {
		return TrustedHostKey{}, fmt.Errorf("trust host key: %w", err)
	}
	f, err := os.OpenFile(t.File, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return TrustedHostKey{}, fmt.Errorf("trust host key: %w", err)
	}
	if _, err := fmt.Fprintln(f, t.Line); err != nil {
		f.Close()
		return TrustedHostKey{}, fmt.Errorf("trust host key: write %s: %w", t.File, err)
	}
	return t, f.Close()
}

// UntrustHostKey removes the line t (its last occurrence, the one
// TrustHostKey appended) and nothing else; a file that no longer holds it
// is an error wrapping plan.ErrNotOurs.
func UntrustHostKey(t TrustedHostKey) error {
	b, err := os.ReadFile(t.File)
	if err != nil {
		return fmt.Errorf("untrust host key: %w", err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.TrimRight(lines[i], "\r\n") != t.Line {
			continue
		}
		out := strings.Join(append(lines[:i:i], lines[i+1:]...), "")
		st, err := os.Stat(t.File)
		if err != nil {
			return fmt.Errorf("untrust host key: %w", err)
		}
		tmp := t.File + ".stowage-tmp"
		if err := os.WriteFile(tmp, []byte(out), st.Mode().Perm()); err != nil {
			return fmt.Errorf("untrust host key: %w", err)
		}
		if err := os.Rename(tmp, t.File); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("untrust host key: %w", err)
		}
		return nil
	}
	return fmt.Errorf("%w: %s no longer holds the line stowage wrote", plan.ErrNotOurs, t.File)
}

// sshSettings is one SSH server of a dial (the libvirt host or a jump
// host), after ~/.ssh/config.
type sshSettings struct {
	alias      string // the name looked up in ssh_config
	hostName   string // after HostName
	port       string
	addr       string // host:port to dial
	user       string
	keyFiles   []string
	knownHosts string
	socket     string // libvirtd's socket; the libvirt host only
	jump       string // the ProxyJump entry; empty for the libvirt host
}

// label names the server in messages.
func (s sshSettings) label() string {
	if s.jump != "" {
		return fmt.Sprintf("jump host %s (%s@%s)", s.jump, s.user, s.addr)
	}
	return s.user + "@" + s.addr
}

// resolveSSH combines the URI with ~/.ssh/config. cfg may be nil.
func resolveSSH(t Target, cfg *sshconfig.Config, home, localUser string) sshSettings {
	s := sshEnv{cfg: cfg, home: home, localUser: localUser}.resolveHost(hostQuery{
		alias: t.Host, user: t.User, port: t.Port, keyfile: t.Keyfile, knownHosts: t.KnownHosts,
	})
	s.socket = t.Socket
	return s
}

// NewSSHDialer builds the qemu+ssh dialer for a target, reading
// ~/.ssh/config afresh; Dial's default for ssh when Options.SSHDialer and
// Options.SSHConfig are nil.
func NewSSHDialer(t Target, timeout time.Duration) (socket.Dialer, error) {
	return (*SSHConfigCache)(nil).Dialer(t, timeout)
}

func newSSHDialer(t Target, timeout time.Duration, env sshEnv) (*sshDialer, error) {
	dest := resolveSSH(t, env.cfg, env.home, env.localUser)
	r, err := env.route(t.Host, dest, t.Keyfile, t.KnownHosts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Raw, err)
	}
	return &sshDialer{route: r, timeout: timeout, retry: defaultRetry()}, nil
}

type sshDialer struct {
	route   sshRoute
	timeout time.Duration
	retry   retryPolicy
}

func (d *sshDialer) dest() sshSettings { return d.route.hops[len(d.route.hops)-1] }

func hostKeyCallback(s sshSettings) (ssh.HostKeyCallback, error) {
	if _, err := os.Stat(s.knownHosts); errors.Is(err, os.ErrNotExist) {
		// No file yet: every key is unknown, and TrustHostKey creates it.
		return func(host string, _ net.Addr, key ssh.PublicKey) error {
			return unknownHostKey(s, host, key)
		}, nil
	}
	check, err := knownhosts.New(s.knownHosts)
	if err != nil {
		return nil, fmt.Errorf("read known_hosts %s: %w", s.knownHosts, err)
	}
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := check(host, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			if len(ke.Want) == 0 {
				return unknownHostKey(s, host, key)
			}
			what := host
			if s.jump != "" {
				what = fmt.Sprintf("jump host %s (%s)", s.jump, host)
			}
			return fmt.Errorf("SSH host key for %s CHANGED: %s %s does not match %s:%d; refusing to connect (possible man in the middle; if the host was reinstalled, remove the old line)",
				what, key.Type(), ssh.FingerprintSHA256(key), ke.Want[0].Filename, ke.Want[0].Line)
		}
		return err
	}, nil
}

func unknownHostKey(s sshSettings, host string, key ssh.PublicKey) error {
	return &model.UnknownHostKeyError{
		Host: knownhosts.Normalize(host), KeyType: key.Type(), JumpHost: s.jump,
		Fingerprint: ssh.FingerprintSHA256(key), KnownHosts: s.knownHosts, Key: key.Marshal(),
	}
}

// agentSigners returns the SSH agent's keys, or nil without an agent.
func agentSigners() (methods []ssh.AuthMethod, closeAgent func()) {
	closeAgent = func() {}
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if c, err := net.Dial("unix", sock); err == nil {
			methods = append(methods, ssh.PublicKeysCallback(agent.NewClient(c).Signers))
			closeAgent = func() { c.Close() }
		}
	}
	return methods, closeAgent
}

func keyFileSigners(s sshSettings) []ssh.AuthMethod {
	var signers []ssh.Signer
	for _, f := range s.keyFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// Passphrase-protected keys need the agent; they are skipped here.
		if k, err := ssh.ParsePrivateKey(b); err == nil {
			signers = append(signers, k)
		}
	}
	if len(signers) == 0 {
		return nil
	}
	return []ssh.AuthMethod{ssh.PublicKeys(signers...)}
}

// hopConfigs are the client configurations of the hops, made before the
// first packet: a bad known_hosts or no key at all is no network problem,
// and is not retried.
func (d *sshDialer) hopConfigs(agentMethods []ssh.AuthMethod) ([]*ssh.ClientConfig, error) {
	var out []*ssh.ClientConfig
	for _, h := range d.route.hops {
		hk, err := hostKeyCallback(h)
		if err != nil {
			return nil, err
		}
		methods := append(append([]ssh.AuthMethod(nil), agentMethods...), keyFileSigners(h)...)
		if len(methods) == 0 {
			return nil, fmt.Errorf("ssh %s: no SSH agent and no readable key (tried %s); add a key with ssh-add or ?keyfile=",
				h.label(), strings.Join(h.keyFiles, ", "))
		}
		out = append(out, &ssh.ClientConfig{User: h.user, Auth: methods, HostKeyCallback: hk})
	}
	return out, nil
}

// Dial connects through the route and opens libvirtd's socket; the whole
// of it, retries included, ends by the dial timeout.
func (d *sshDialer) Dial() (net.Conn, error) {
	deadline := d.retry.now().Add(d.timeout)
	agentMethods, closeAgent := agentSigners()
	defer closeAgent()
	cfgs, err := d.hopConfigs(agentMethods)
	if err != nil {
		return nil, err
	}
	var conn net.Conn
	err = d.retry.run(deadline, func() error {
		a := &sshAttempt{d: d, cfgs: cfgs, deadline: deadline}
		c, err := a.dial()
		conn = c
		return err
	})
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// sshAttempt is one try along the route. Everything it opens is
// registered, so that the deadline's watchdog, or a failure, closes it
// all; on success the sshConn owns it.
type sshAttempt struct {
	d        *sshDialer
	cfgs     []*ssh.ClientConfig
	deadline time.Time

	mu          sync.Mutex
	closers     []io.Closer // bottom (TCP or ProxyCommand) first
	expired     bool
	expiredDone chan struct{} // closed once expire has closed everything
	stage       atomic.Pointer[string]
}

func (a *sshAttempt) setStage(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	a.stage.Store(&s)
}

// track registers c for closing; after expiry it is closed at once.
func (a *sshAttempt) track(c io.Closer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.expired {
		c.Close()
		return
	}
	a.closers = append(a.closers, c)
}

// closeAll closes the top first: clients before the transports under them.
func (a *sshAttempt) closeAll() {
	a.mu.Lock()
	cs := a.closers
	a.closers = nil
	a.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i].Close()
	}
}

func (a *sshAttempt) expire() {
	a.mu.Lock()
	a.expired = true
	a.mu.Unlock()
	a.closeAll()
	close(a.expiredDone)
}

func (a *sshAttempt) dial() (net.Conn, error) {
	left := time.Until(a.deadline)
	if left <= 0 {
		return nil, &dialTimeoutError{fmt.Sprintf("ssh %s: no time left to dial (timeout %s)", a.d.dest().label(), a.d.timeout)}
	}
	// Handshakes through a tunnel take no deadline (x/crypto's channels
	// do not support one), so a watchdog closes the bottom transport,
	// which ends every hop above it.
	a.expiredDone = make(chan struct{})
	wd := time.AfterFunc(left, a.expire)
	conn, err := a.run()
	if !wd.Stop() {
		// Everything is closed (a ProxyCommand killed and reaped) before
		// the dial returns.
		<-a.expiredDone
		if conn != nil {
			conn.Close()
		}
		stage := "dialing"
		if s := a.stage.Load(); s != nil {
			stage = *s
		}
		return nil, &dialTimeoutError{fmt.Sprintf("ssh %s: no answer within %s (%s)", a.d.dest().label(), a.d.timeout, stage)}
	}
	if err != nil {
		a.closeAll()
		return nil, err
	}
	return conn, nil
}

func (a *sshAttempt) run() (net.Conn, error) {
	hops := a.d.route.hops
	first := hops[0]
	var under net.Conn
	var proxy *proxyCommandConn
	if pc := a.d.route.proxyCommand; pc != "" {
		a.setStage("starting the ProxyCommand for %s", first.label())
		p, err := startProxyCommand(pc, first.addr)
		if err != nil {
			return nil, fmt.Errorf("ssh %s: %w", first.label(), err)
		}
		a.track(p)
		under, proxy = p.stream(), p
	} else {
		a.setStage("connecting to %s", first.label())
		c, err := (&net.Dialer{Deadline: a.deadline}).Dial("tcp", first.addr)
		if err != nil {
			return nil, fmt.Errorf("ssh %s: %w", first.label(), err)
		}
		a.track(c)
		under = c
	}
	var client *ssh.Client
	for i, hop := range hops {
		if i > 0 {
			a.setStage("opening a tunnel through %s to %s", hops[i-1].label(), hop.addr)
			c, err := client.Dial("tcp", hop.addr)
			if err != nil {
				return nil, fmt.Errorf("ssh %s cannot reach %s (%s): %w", hops[i-1].label(), hop.addr, hop.label(), err)
			}
			a.track(c)
			under = c
		}
		if i == 0 && proxy != nil {
			a.setStage("SSH handshake with %s through its ProxyCommand", hop.label())
		} else {
			a.setStage("SSH handshake with %s", hop.label())
		}
		cc, chans, reqs, err := ssh.NewClientConn(under, hop.addr, a.cfgs[i])
		if err != nil {
			return nil, a.handshakeError(hop, i == 0, proxy, err)
		}
		client = ssh.NewClient(cc, chans, reqs)
		a.track(client)
	}
	dest := hops[len(hops)-1]
	a.setStage("opening libvirtd's socket %s on %s", dest.socket, dest.label())
	conn, err := client.Dial("unix", dest.socket)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: open libvirtd socket %s on the host (is libvirtd running there?): %w", dest.addr, dest.socket, err)
	}
	a.mu.Lock()
	closers := a.closers
	a.mu.Unlock()
	sc := &sshConn{Conn: conn, client: client, under: closers, done: make(chan struct{})}
	go sc.keepalive(SSHKeepalive)
	return sc, nil
}

// handshakeError words a failed handshake with hop. Through a
// ProxyCommand, an early EOF may be the command's own failure (it could
// not connect): then its exit status and stderr are the cause.
func (a *sshAttempt) handshakeError(hop sshSettings, overProxy bool, proxy *proxyCommandConn, err error) error {
	if overProxy && proxy != nil && transientHandshake(err) {
		if failed, why := proxy.failure(time.Until(a.deadline)); failed {
			return fmt.Errorf("ssh %s: %s (%w)", hop.label(), why, err)
		}
	}
	return classifyHandshake(hop, err)
}

// classifyHandshake marks the transient handshake failures for the retry;
// an unknown host key stays itself, for the UI to ask about.
func classifyHandshake(hop sshSettings, err error) error {
	var uk *model.UnknownHostKeyError
	if errors.As(err, &uk) {
		return uk
	}
	err = fmt.Errorf("ssh %s: %w", hop.label(), err)
	if !transientHandshake(err) {
		return err
	}
	return &transientError{
		cause: fmt.Sprintf("ssh %s dropped the connection before the handshake (sshd's MaxStartups limit on unauthenticated connections, or a busy or restarting server)", hop.label()),
		err:   err,
	}
}

// dialTimeoutError is a dial that ran out of time, saying at which step;
// it matches ErrTimeout.
type dialTimeoutError struct{ msg string }

func (e *dialTimeoutError) Error() string        { return e.msg }
func (e *dialTimeoutError) Is(target error) bool { return target == ErrTimeout }

// sshConn is the forwarded socket; closing it closes the SSH sessions
// and transports under it too, top first.
type sshConn struct {
	net.Conn
	client *ssh.Client // the libvirt host's session, for keepalives
	under  []io.Closer // bottom first
	once   sync.Once
	done   chan struct{}
}

func (c *sshConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		close(c.done)
		for i := len(c.under) - 1; i >= 0; i-- {
			c.under[i].Close()
		}
	})
	return err
}

// keepalive sends keepalive@openssh.com requests; after three failures in
// a row (or none answered within the interval) it closes the connection so
// that pending libvirt calls return instead of hanging.
func (c *sshConn) keepalive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	misses := 0
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		replied := make(chan error, 1)
		go func() {
			_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
			replied <- err
		}()
		select {
		case err := <-replied:
			if err == nil {
				misses = 0
				continue
			}
		case <-time.After(every):
		case <-c.done:
			return
		}
		if misses++; misses >= 3 {
			c.Close()
			return
		}
	}
}
