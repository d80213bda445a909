package data

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"stowage/connect"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
)

// trustSSHD is a private sshd on a loopback port with a host key of its
// own: only its handshake matters here (the host key check comes before
// authentication). Started and stopped by PID.
type trustSSHD struct {
	log     []string // read before "listening" only
	cmd     *exec.Cmd
	stopped chan struct{}
}

func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func startTrustSSHD(t *testing.T, port string) *trustSSHD {
	t.Helper()
	dir := t.TempDir()
	key := filepath.Join(dir, "host_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		lab.Unavailable(t, "ssh-keygen: %v: %s", err, out)
	}
	cfg := filepath.Join(dir, "sshd_config")
	lines := []string{"ListenAddress 127.0.0.1:" + port, "HostKey " + key, "PidFile none",
		"PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", "LogLevel DEBUG1"}
	if err := os.WriteFile(cfg, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", cfg)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr, cmd.Stdout = w, w
	if err := cmd.Start(); err != nil {
		lab.Unavailable(t, "start sshd: %v", err)
	}
	w.Close()
	s := &trustSSHD{cmd: cmd, stopped: make(chan struct{})}
	listening := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(r)
		said := false
		for sc.Scan() {
			if !said {
				s.log = append(s.log, sc.Text())
			}
			if !said && strings.Contains(sc.Text(), "Server listening on 127.0.0.1 port "+port) {
				said = true
				listening <- true
			}
		}
		if !said {
			listening <- false
		}
		r.Close()
	}()
	go func() { _ = cmd.Wait(); close(s.stopped) }()
	t.Cleanup(s.stop)
	if !<-listening {
		t.Fatalf("private sshd on port %s did not start:\n%s", port, strings.Join(s.log, "\n"))
	}
	return s
}

func (s *trustSSHD) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.stopped
}

func auditRecords(t *testing.T, path string) []plan.Record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	var out []plan.Record
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r plan.Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		out = append(out, r)
	}
	return out
}

// TestLabTrustHostKeyShownOnly: the screen shows key A; before the admin
// confirms, the server at that address starts presenting key B (another
// sshd on the same port). Trusting must refuse and write nothing, not
// key B; the refusal is audited. Trusting B once it is shown writes
// exactly B's line, audited with its fingerprint; a failure injected
// after the trust removes exactly that line and keeps the others.
func TestLabTrustHostKeyShownOnly(t *testing.T) {
	env := lab.Need(t)
	if env.SSHURI == "" {
		lab.Unavailable(t, "lab/env has no STOWAGE_LAB_SSH_URI: rerun lab/up")
	}
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		lab.Unavailable(t, "sshd: %v", err)
	}
	lu, err := url.Parse(env.SSHURI)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	auditPath := filepath.Join(dir, "audit.jsonl")
	port := freeLoopbackPort(t)
	uri := fmt.Sprintf("qemu+ssh://root@127.0.0.1:%s/system?keyfile=%s&known_hosts=%s", port, lu.Query().Get("keyfile"), kh)
	l := connect.New([]string{uri}, libvirtx.Options{Timeout: 10 * time.Second}, libvirtx.Backoff{Min: time.Nanosecond, Max: time.Nanosecond})
	defer l.Close()
	l.Plan = plan.Runner{Audit: plan.NewAudit(auditPath)}
	s := NewStore(l, 10*time.Second)
	ctx := context.Background()
	// shownKey dials and returns the unknown key as the store (and so the
	// screen) holds it.
	shownKey := func() *model.UnknownHostKeyError {
		t.Helper()
		l.RetryNow(0)
		_, err := l.Conn(ctx, uri)
		s.Hosts[0].Status = l.Status(0)
		k := UnknownHostKey(s.Hosts[0])
		if k == nil {
			t.Fatalf("dial with an empty known_hosts: %v; want an unknown host key", err)
		}
		return k
	}

	a := startTrustSSHD(t, port)
	keyA := shownKey()
	a.stop()
	startTrustSSHD(t, port) // key B, same address
	l.RetryNow(0)
	if _, err := l.Conn(ctx, uri); err == nil {
		t.Fatal("dial of the second sshd succeeded")
	}

	// The admin confirms A (the key on screen), the host now shows B.
	msg := s.Trust(0)().(TrustMsg)
	if !errors.Is(msg.Err, model.ErrHostKeyNotShown) {
		t.Fatalf("trusting key A while the host presents B: %v; want a refusal (ErrHostKeyNotShown)", msg.Err)
	}
	if _, err := os.Stat(kh); !errors.Is(err, os.ErrNotExist) {
		b, _ := os.ReadFile(kh)
		t.Fatalf("known_hosts written despite the refusal: %q", b)
	}
	recs := auditRecords(t, auditPath)
	if last := recs[len(recs)-1]; last.Action != "trust host key" || last.Result != plan.ResultRefused ||
		!strings.Contains(last.Object, keyA.Fingerprint) || last.User == "" {
		t.Errorf("the refusal's audit record: %+v", last)
	}

	// Now B is shown: trusting it writes exactly B.
	keyB := shownKey()
	if keyB.Fingerprint == keyA.Fingerprint {
		t.Fatal("the two sshds have the same host key")
	}
	other := "[10.9.8.7]:22 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGmKgq0zc7cQOv0uNLb7k+JvHq2wU6IYdMM0nW3V1H0S\n"
	if err := os.WriteFile(kh, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	// A failure injected right after the trust step: exactly its line goes.
	l.Plan.FailAfter = connect.StepTrustHostKey
	if err := l.TrustHostKey(0, keyB); err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("trust with an injected failure: %v", err)
	}
	if b, _ := os.ReadFile(kh); string(b) != other {
		t.Errorf("after the undo known_hosts is %q, want only the other admin's line %q", b, other)
	}
	l.Plan.FailAfter = ""
	if err := l.TrustHostKey(0, keyB); err != nil {
		t.Fatalf("trusting the key shown: %v", err)
	}
	b, _ := os.ReadFile(kh)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || lines[0]+"\n" != other || !strings.HasPrefix(lines[1], fmt.Sprintf("[127.0.0.1]:%s ssh-ed25519 ", port)) {
		t.Fatalf("known_hosts after trusting B: %q", b)
	}
	// The line is B's: the next dial gets past the host key (to auth).
	l.RetryNow(0)
	_, err = l.Conn(ctx, uri)
	var uk *model.UnknownHostKeyError
	if errors.As(err, &uk) || (err != nil && strings.Contains(err.Error(), "CHANGED")) {
		t.Errorf("dial after trusting B: %v; the key written is not the server's", err)
	}
	var ok, undone bool
	for _, r := range auditRecords(t, auditPath) {
		ok = ok || (r.Action == "trust host key" && r.Result == plan.ResultOK && strings.Contains(r.Object, keyB.Fingerprint))
		undone = undone || (r.Action == "undo trust host key" && r.Result == plan.ResultOK)
	}
	if !ok || !undone {
		t.Errorf("audit: trust recorded %v, its undo recorded %v", ok, undone)
	}
}
