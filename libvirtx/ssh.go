package libvirtx

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/digitalocean/go-libvirt/socket"
	sshconfig "github.com/kevinburke/ssh_config"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// The qemu+ssh transport. go-libvirt's own SSH dialer ignores ~/.ssh/config
// and cannot ask before trusting a host key; this one:
//   - resolves Host aliases, HostName, User, Port and IdentityFile from
//     ~/.ssh/config (the URI's user, port and ?keyfile= win);
//   - verifies the host key against known_hosts (the URI's ?known_hosts=,
//     else ~/.ssh/known_hosts) and, for a host it does not list, fails with
//     *UnknownHostKeyError so the UI can show the fingerprint and ask; a
//     changed key is refused outright (possible man in the middle);
//   - authenticates with the SSH agent ($SSH_AUTH_SOCK) and key files;
//   - forwards to libvirtd's unix socket on the host (direct-streamlocal);
//   - sends SSH keepalives, so a vanished host is noticed and the socket
//     closed (go-libvirt's Disconnected() then fires).

// SSHKeepalive is how often a keepalive request goes to the SSH server;
// three unanswered in a row close the connection.
const SSHKeepalive = 10 * time.Second

// UnknownHostKeyError is returned when known_hosts does not list the host.
// Nothing was trusted; TrustHostKey records the key, then dial again.
type UnknownHostKeyError struct {
	// Host is the address as known_hosts records it (host or [host]:port).
	Host        string
	KeyType     string
	Fingerprint string // SHA256:…, as ssh-keygen -l prints it
	KnownHosts  string // the file TrustHostKey appends to
	key         ssh.PublicKey
}

func (e *UnknownHostKeyError) Error() string {
	return fmt.Sprintf("unknown SSH host key for %s: %s %s (not in %s); verify the fingerprint with the host's admin before trusting it",
		e.Host, e.KeyType, e.Fingerprint, e.KnownHosts)
}

// TrustHostKey appends the key of an UnknownHostKeyError to its known_hosts
// file (created 0600 with its directory if missing).
func TrustHostKey(e *UnknownHostKeyError) error {
	if e == nil || e.key == nil {
		return errors.New("no host key to trust")
	}
	if err := os.MkdirAll(filepath.Dir(e.KnownHosts), 0o700); err != nil {
		return fmt.Errorf("trust host key: %w", err)
	}
	f, err := os.OpenFile(e.KnownHosts, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("trust host key: %w", err)
	}
	line := knownhosts.Line([]string{e.Host}, e.key)
	if _, err := fmt.Fprintln(f, line); err != nil {
		f.Close()
		return fmt.Errorf("trust host key: write %s: %w", e.KnownHosts, err)
	}
	return f.Close()
}

// sshSettings is what one qemu+ssh dial uses, after ~/.ssh/config.
type sshSettings struct {
	addr       string // host:port to dial
	user       string
	keyFiles   []string
	knownHosts string
	socket     string
}

// resolveSSH combines the URI with ~/.ssh/config. cfg may be nil.
func resolveSSH(t Target, cfg *sshconfig.Config, home, localUser string) sshSettings {
	get := func(key string) string {
		if cfg == nil {
			return ""
		}
		v, _ := cfg.Get(t.Host, key)
		return v
	}
	s := sshSettings{socket: t.Socket}
	host := t.Host
	if hn := get("HostName"); hn != "" {
		host = hn
	}
	port := t.Port
	if port == "" {
		port = get("Port")
	}
	if port == "" {
		port = "22"
	}
	s.addr = net.JoinHostPort(host, port)
	s.user = t.User
	if s.user == "" {
		s.user = get("User")
	}
	if s.user == "" {
		s.user = localUser
	}
	expand := func(p string) string {
		if strings.HasPrefix(p, "~/") {
			return filepath.Join(home, p[2:])
		}
		return p
	}
	if t.Keyfile != "" {
		s.keyFiles = []string{expand(t.Keyfile)}
	} else if cfg != nil {
		if ids, err := cfg.GetAll(t.Host, "IdentityFile"); err == nil {
			for _, id := range ids {
				// ssh_config returns its default "~/.ssh/identity" when
				// nothing is set; the usual defaults are added below.
				if id != "" && id != "~/.ssh/identity" {
					s.keyFiles = append(s.keyFiles, expand(id))
				}
			}
		}
	}
	if len(s.keyFiles) == 0 {
		for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			s.keyFiles = append(s.keyFiles, filepath.Join(home, ".ssh", n))
		}
	}
	s.knownHosts = expand(t.KnownHosts)
	if s.knownHosts == "" {
		if f := get("UserKnownHostsFile"); f != "" {
			s.knownHosts = expand(strings.Fields(f)[0])
		} else {
			s.knownHosts = filepath.Join(home, ".ssh", "known_hosts")
		}
	}
	return s
}

// NewSSHDialer builds the qemu+ssh dialer for a target; it is Dial's
// default for ssh when Options.SSHDialer is nil.
func NewSSHDialer(t Target, timeout time.Duration) (socket.Dialer, error) {
	home, _ := os.UserHomeDir()
	localUser := os.Getenv("USER")
	if localUser == "" {
		localUser = "root"
	}
	var cfg *sshconfig.Config
	if f, err := os.Open(filepath.Join(home, ".ssh", "config")); err == nil {
		cfg, err = sshconfig.Decode(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: read ~/.ssh/config: %w", t.Raw, err)
		}
	}
	return &sshDialer{s: resolveSSH(t, cfg, home, localUser), host: t.Host, timeout: timeout}, nil
}

type sshDialer struct {
	s       sshSettings
	host    string
	timeout time.Duration
}

func (d *sshDialer) hostKeyCallback() (ssh.HostKeyCallback, error) {
	if _, err := os.Stat(d.s.knownHosts); errors.Is(err, os.ErrNotExist) {
		// No file yet: every key is unknown, and TrustHostKey creates it.
		return func(host string, _ net.Addr, key ssh.PublicKey) error {
			return d.unknown(host, key)
		}, nil
	}
	check, err := knownhosts.New(d.s.knownHosts)
	if err != nil {
		return nil, fmt.Errorf("read known_hosts %s: %w", d.s.knownHosts, err)
	}
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := check(host, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			if len(ke.Want) == 0 {
				return d.unknown(host, key)
			}
			return fmt.Errorf("SSH host key for %s CHANGED: %s %s does not match %s:%d; refusing to connect (possible man in the middle; if the host was reinstalled, remove the old line)",
				host, key.Type(), ssh.FingerprintSHA256(key), ke.Want[0].Filename, ke.Want[0].Line)
		}
		return err
	}, nil
}

func (d *sshDialer) unknown(host string, key ssh.PublicKey) error {
	return &UnknownHostKeyError{
		Host: knownhosts.Normalize(host), KeyType: key.Type(),
		Fingerprint: ssh.FingerprintSHA256(key), KnownHosts: d.s.knownHosts, key: key,
	}
}

func (d *sshDialer) authMethods() (methods []ssh.AuthMethod, closeAgent func()) {
	closeAgent = func() {}
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if c, err := net.Dial("unix", sock); err == nil {
			methods = append(methods, ssh.PublicKeysCallback(agent.NewClient(c).Signers))
			closeAgent = func() { c.Close() }
		}
	}
	var signers []ssh.Signer
	for _, f := range d.s.keyFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// Passphrase-protected keys need the agent; they are skipped here.
		if s, err := ssh.ParsePrivateKey(b); err == nil {
			signers = append(signers, s)
		}
	}
	if len(signers) > 0 {
		methods = append(methods, ssh.PublicKeys(signers...))
	}
	return methods, closeAgent
}

// Dial connects to the SSH server and opens libvirtd's socket through it.
func (d *sshDialer) Dial() (net.Conn, error) {
	hk, err := d.hostKeyCallback()
	if err != nil {
		return nil, err
	}
	methods, closeAgent := d.authMethods()
	defer closeAgent()
	if len(methods) == 0 {
		return nil, fmt.Errorf("ssh %s@%s: no SSH agent and no readable key (tried %s); add a key with ssh-add or ?keyfile=",
			d.s.user, d.s.addr, strings.Join(d.s.keyFiles, ", "))
	}
	cfg := &ssh.ClientConfig{User: d.s.user, Auth: methods, HostKeyCallback: hk, Timeout: d.timeout}
	client, err := ssh.Dial("tcp", d.s.addr, cfg)
	if err != nil {
		var uk *UnknownHostKeyError
		if errors.As(err, &uk) {
			return nil, uk
		}
		return nil, fmt.Errorf("ssh %s@%s: %w", d.s.user, d.s.addr, err)
	}
	conn, err := client.Dial("unix", d.s.socket)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("ssh %s: open libvirtd socket %s on the host (is libvirtd running there?): %w", d.s.addr, d.s.socket, err)
	}
	sc := &sshConn{Conn: conn, client: client, done: make(chan struct{})}
	go sc.keepalive(SSHKeepalive)
	return sc, nil
}

// sshConn is the forwarded socket; closing it closes the SSH session too.
type sshConn struct {
	net.Conn
	client *ssh.Client
	once   sync.Once
	done   chan struct{}
}

func (c *sshConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		close(c.done)
		c.client.Close()
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
