package libvirtx_test

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"stowage/lab"
)

// Private sshd instances for the qemu+ssh route tests: started by a test
// on a loopback port, with a host key of its own in t.TempDir(), the lab's
// authorized_keys read as it is, and stopped by PID in t.Cleanup. The lab's
// own sshd (127.0.0.1:2222, forwarding to libvirtd) is the usual final
// host; these are bastions, or a throttled host.

// labSSH is what the route tests take from the lab: its sshd's address and
// host key, and the client key that sshd (and the private ones) accept.
type labSSH struct {
	env        lab.Env
	port       string // the lab sshd's port on 127.0.0.1
	hostKey    string // "ssh-ed25519 AAAA…"
	clientKey  string // private key file
	authorized string // authorized_keys holding clientKey's public half
}

func needLabSSH(t *testing.T) labSSH {
	t.Helper()
	env := lab.Need(t)
	if env.SSHURI == "" {
		lab.Unavailable(t, "lab/env has no STOWAGE_LAB_SSH_URI: rerun lab/up")
	}
	for _, bin := range []string{"/usr/sbin/sshd", "unshare", "mount", "ssh"} {
		if _, err := exec.LookPath(bin); err != nil {
			lab.Unavailable(t, "%s is missing (openssh-server, openssh-client, util-linux): %v", bin, err)
		}
	}
	if os.Geteuid() != 0 {
		lab.Unavailable(t, "private sshd instances log in as root and need a mount namespace: run as root")
	}
	u, err := url.Parse(env.SSHURI)
	if err != nil {
		t.Fatal(err)
	}
	hk, err := os.ReadFile(env.SSHHostKey)
	if err != nil {
		t.Fatalf("the lab sshd's host key: %v", err)
	}
	f := strings.Fields(string(hk))
	if len(f) < 2 {
		t.Fatalf("%s: not a public key", env.SSHHostKey)
	}
	l := labSSH{
		env: env, port: u.Port(), hostKey: f[0] + " " + f[1],
		clientKey:  u.Query().Get("keyfile"),
		authorized: filepath.Join(filepath.Dir(u.Query().Get("keyfile")), "authorized_keys"),
	}
	for _, p := range []string{l.clientKey, l.authorized} {
		if _, err := os.Stat(p); err != nil {
			lab.Unavailable(t, "lab ssh file: %v (rerun lab/up)", err)
		}
	}
	return l
}

// sshdOpts shapes a private sshd.
type sshdOpts struct {
	// hosts are names only this sshd resolves (to 127.0.0.1): it runs in a
	// mount namespace of its own with its own /etc/hosts. The test process
	// cannot resolve them, so a target named so is reachable only through
	// this sshd.
	hosts []string
	// authorized overrides the authorized_keys file (default: the lab's).
	authorized string
	// extra sshd_config lines.
	extra []string
}

type sshd struct {
	port    string
	hostKey string // "ssh-ed25519 AAAA…"
	log     *logWatch
	cmd     *exec.Cmd
}

// knownHostsLine is this sshd's known_hosts line under name (a host name
// or address, as the client will know it).
func (s *sshd) knownHostsLine(name string) string {
	return fmt.Sprintf("[%s]:%s %s\n", name, s.port, s.hostKey)
}

func startSSHD(t *testing.T, l labSSH, o sshdOpts) *sshd {
	t.Helper()
	dir := t.TempDir()
	hostKey := writeEd25519Key(t, filepath.Join(dir, "host_ed25519"))
	auth := o.authorized
	if auth == "" {
		auth = l.authorized
	}
	// A free port can be taken by someone else between Close and sshd's
	// bind: then sshd exits at once, and another port is tried.
	for try := 0; try < 5; try++ {
		port := freePort(t)
		cfg := filepath.Join(dir, "sshd_config")
		lines := []string{
			"ListenAddress 127.0.0.1:" + port,
			"HostKey " + filepath.Join(dir, "host_ed25519"),
			"PidFile none",
			"AuthorizedKeysFile " + auth,
			"PermitRootLogin prohibit-password",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"UsePAM no",
			"StrictModes no",
			// DEBUG1 logs every forwarding (server_request_direct_tcpip).
			"LogLevel DEBUG1",
		}
		lines = append(lines, o.extra...)
		if err := os.WriteFile(cfg, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var cmd *exec.Cmd
		if len(o.hosts) > 0 {
			hosts := filepath.Join(dir, "hosts")
			content := "127.0.0.1 localhost\n127.0.0.1 " + strings.Join(o.hosts, " ") + "\n"
			if err := os.WriteFile(hosts, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd = exec.Command("unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
				`mount --bind "$0" /etc/hosts && exec /usr/sbin/sshd -D -e -f "$1"`, hosts, cfg)
		} else {
			cmd = exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", cfg)
		}
		// Our own pipe, not StdoutPipe: Wait must not close it under the
		// reader, which reads to the end (sshd and its sessions).
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = w, w
		err = cmd.Start()
		w.Close()
		if err != nil {
			r.Close()
			t.Fatalf("start sshd: %v", err)
		}
		s := &sshd{port: port, hostKey: hostKey, log: newLogWatch(r), cmd: cmd}
		stopped := make(chan struct{})
		go func() {
			// Reaps sshd, and tells waitFor that no line will come.
			_ = cmd.Wait()
			close(stopped)
		}()
		t.Cleanup(func() {
			// By PID (ours): sshd ends its listener; sessions of clients the
			// test closed end on their own.
			_ = cmd.Process.Signal(syscall.SIGCONT)
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-stopped:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-stopped
			}
		})
		if s.log.waitFor("Server listening on 127.0.0.1 port "+port, 20*time.Second) {
			return s
		}
		<-stopped
		s.log.waitEnd(10 * time.Second)
		if !s.log.contains("Address already in use") {
			t.Fatalf("private sshd did not start:\n%s", s.log.text())
		}
	}
	t.Fatal("no free loopback port for a private sshd after 5 tries")
	return nil
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// writeEd25519Key writes a new private key (OpenSSH format, 0600) to path
// and path.pub, and returns the public key as "ssh-ed25519 AAAA…".
func writeEd25519Key(t *testing.T, path string) string {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
	if err := os.WriteFile(path+".pub", []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return line
}

// logWatch collects a daemon's output lines and lets a test wait for one:
// on the line itself, bounded only as a failsafe.
type logWatch struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed (and replaced) on every new line
	ended   bool
}

func newLogWatch(f *os.File) *logWatch {
	l := &logWatch{changed: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			l.mu.Lock()
			l.lines = append(l.lines, sc.Text())
			close(l.changed)
			l.changed = make(chan struct{})
			l.mu.Unlock()
		}
		f.Close()
		l.mu.Lock()
		l.ended = true
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}()
	return l
}

func (l *logWatch) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

func (l *logWatch) contains(substr string) bool { return l.count(substr) > 0 }

func (l *logWatch) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// waitFor waits until a line contains substr; false when the output ends
// first, or after failsafe.
func (l *logWatch) waitFor(substr string, failsafe time.Duration) bool {
	return l.waitCount(substr, 1, failsafe)
}

// waitCount waits until n lines contain substr.
func (l *logWatch) waitCount(substr string, n int, failsafe time.Duration) bool {
	timer := time.NewTimer(failsafe)
	defer timer.Stop()
	for {
		l.mu.Lock()
		got := 0
		for _, s := range l.lines {
			if strings.Contains(s, substr) {
				got++
			}
		}
		ch, ended := l.changed, l.ended
		l.mu.Unlock()
		if got >= n {
			return true
		}
		if ended {
			return false
		}
		select {
		case <-ch:
		case <-timer.C:
			return false
		}
	}
}

// waitEnd waits until the output ends (bounded by failsafe).
func (l *logWatch) waitEnd(failsafe time.Duration) {
	timer := time.NewTimer(failsafe)
	defer timer.Stop()
	for {
		l.mu.Lock()
		ch, ended := l.changed, l.ended
		l.mu.Unlock()
		if ended {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			return
		}
	}
}

// sshHome makes a home directory whose ~/.ssh/config is config, and
// points HOME at it (stowage reads ~/.ssh/config from there); no agent.
func sshHome(t *testing.T, config string) string {
	t.Helper()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	return home
}

// childPIDs lists the live (or zombie) children of this test process.
func childPIDs(t *testing.T) map[int]string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	out := map[int]string{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == self {
			cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			out[pid] = f[0] + " " + strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " ")
		}
	}
	return out
}

// processGone reports whether pid no longer exists, not even as a zombie.
func processGone(pid int) bool {
	_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid)))
	return os.IsNotExist(err)
}
