package libvirtx_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"stowage/libvirtx"
	"stowage/model"
)

// Names that only a private sshd resolves (see sshdOpts.hosts): the test
// process cannot, so a route to them works only through that sshd.
const (
	hvBehind    = "hv.stowage-test.invalid"    // the lab's sshd, to the last bastion
	jump2Behind = "jump2.stowage-test.invalid" // bastion B, to bastion A
)

// listPools dials uri, lists pools (a real libvirt call through the route)
// and checks the lab's dir pool is among them.
func listPools(t *testing.T, l labSSH, uri string, timeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	c, err := libvirtx.Dial(ctx, uri, libvirtx.Options{Timeout: timeout})
	if err != nil {
		t.Fatalf("dial %s: %v", uri, err)
	}
	defer c.Close()
	pools, err := c.Pools(ctx)
	if err != nil {
		t.Fatalf("list pools over %s: %v", uri, err)
	}
	for _, p := range pools {
		if p.Name == l.env.DirPool {
			return
		}
	}
	t.Errorf("pool %s not listed over %s", l.env.DirPool, uri)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A two-hop ProxyJump chain of aliases, each resolved through ssh_config
// with its own HostName, Port and IdentityFile: A (a key only A accepts)
// → B (a name only A resolves) → the lab's sshd (a name only B resolves).
// Both bastions log the forwarding, and the host's name does not resolve
// here, so the pools could only have come through the chain.
func TestLabSSHProxyJumpChain(t *testing.T) {
	l := needLabSSH(t)
	dir := t.TempDir()
	aKey := filepath.Join(dir, "bastion_a_key")
	writeFile(t, filepath.Join(dir, "bastion_a_authorized_keys"), writeEd25519Key(t, aKey)+"\n")
	b := startSSHD(t, l, sshdOpts{hosts: []string{hvBehind}, extra: []string{"PermitOpen " + hvBehind + ":" + l.port}})
	a := startSSHD(t, l, sshdOpts{
		hosts: []string{jump2Behind}, authorized: filepath.Join(dir, "bastion_a_authorized_keys"),
		extra: []string{"PermitOpen " + jump2Behind + ":" + b.port},
	})
	kh := filepath.Join(dir, "known_hosts")
	writeFile(t, kh, a.knownHostsLine("127.0.0.1")+b.knownHostsLine(jump2Behind)+b.knownHostsLine("127.0.0.1")+
		fmt.Sprintf("[%s]:%s %s\n", hvBehind, l.port, l.hostKey))
	sshHome(t, fmt.Sprintf(`
Host bastion-a
  HostName 127.0.0.1
  Port %[1]s
  User root
  IdentityFile %[2]s
  UserKnownHostsFile %[3]s

Host bastion-b
  HostName %[4]s
  Port %[5]s
  User root
  IdentityFile %[6]s
  UserKnownHostsFile %[3]s

Host hv1
  HostName %[7]s
  Port %[8]s
  User root
  IdentityFile %[6]s
  UserKnownHostsFile %[3]s
  ProxyJump bastion-a,bastion-b

# The user@host:port form: the jump host has no Host block, so it takes
# the URI's key and known_hosts.
Host hv-inline
  HostName %[7]s
  Port %[8]s
  User root
  ProxyJump root@127.0.0.1:%[5]s
`, a.port, aKey, kh, jump2Behind, b.port, l.clientKey, hvBehind, l.port))

	listPools(t, l, "qemu+ssh://hv1/system", 30*time.Second)
	if !a.log.waitFor("target "+jump2Behind+" port "+b.port, 10*time.Second) {
		t.Errorf("bastion A never forwarded to B; its log:\n%s", a.log.text())
	}
	if !b.log.waitFor("target "+hvBehind+" port "+l.port, 10*time.Second) {
		t.Errorf("bastion B never forwarded to the host; its log:\n%s", b.log.text())
	}

	forwarded := "target " + hvBehind + " port " + l.port
	before := b.log.count(forwarded)
	listPools(t, l, "qemu+ssh://hv-inline/system?keyfile="+l.clientKey+"&known_hosts="+kh, 30*time.Second)
	if !b.log.waitCount(forwarded, before+1, 10*time.Second) {
		t.Errorf("the inline jump root@127.0.0.1:%s did not forward through bastion B; its log:\n%s", b.port, b.log.text())
	}

	// Without the jump the host cannot be reached at all.
	direct := fmt.Sprintf("qemu+ssh://root@%s:%s/system?keyfile=%s&known_hosts=%s", hvBehind, l.port, l.clientKey, kh)
	_, err := libvirtx.Dial(context.Background(), direct, libvirtx.Options{Timeout: 10 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "no such host") {
		t.Errorf("dial %s without a jump: %v; want a name that does not resolve here", hvBehind, err)
	}
}

// Every hop's host key is checked: a jump host known_hosts does not list
// fails with UnknownHostKeyError naming that jump host, before anything is
// forwarded through it; trusting it lets the next dial through. A jump
// host whose key changed is refused, and named.
func TestLabSSHJumpHostKeyUnknown(t *testing.T) {
	l := needLabSSH(t)
	dir := t.TempDir()
	b := startSSHD(t, l, sshdOpts{hosts: []string{hvBehind}, extra: []string{"PermitOpen " + hvBehind + ":" + l.port}})
	kh := filepath.Join(dir, "known_hosts")
	writeFile(t, kh, fmt.Sprintf("[%s]:%s %s\n", hvBehind, l.port, l.hostKey))
	sshHome(t, fmt.Sprintf(`
Host bastion
  HostName 127.0.0.1
  Port %s
  User root
Host hv1
  HostName %s
  Port %s
  User root
  ProxyJump bastion
Host *
  IdentityFile %s
  UserKnownHostsFile %s
`, b.port, hvBehind, l.port, l.clientKey, kh))
	uri := "qemu+ssh://hv1/system"

	_, err := libvirtx.Dial(context.Background(), uri, libvirtx.Options{Timeout: 20 * time.Second})
	var uk *model.UnknownHostKeyError
	if !errors.As(err, &uk) {
		t.Fatalf("dial through a jump host known_hosts does not list: %v; want UnknownHostKeyError", err)
	}
	if uk.JumpHost != "bastion" || uk.Host != "[127.0.0.1]:"+b.port || uk.KnownHosts != kh ||
		!strings.Contains(uk.Error(), "jump host bastion") {
		t.Errorf("unknown key error names the wrong hop: %+v (%v)", uk, uk)
	}
	fields := strings.Fields(b.hostKey)
	if uk.KeyType != fields[0] || !strings.HasPrefix(uk.Fingerprint, "SHA256:") {
		t.Errorf("unknown key error = %+v; want bastion's %s key", uk, fields[0])
	}
	if b.log.contains("server_request_direct_tcpip") {
		t.Error("something was forwarded through a jump host whose key was not trusted")
	}
	if _, err := libvirtx.TrustHostKey(uk, uk); err != nil {
		t.Fatal(err)
	}
	listPools(t, l, uri, 30*time.Second)

	// Same jump host, another key: refused outright, naming the hop.
	other := "[127.0.0.1]:" + b.port + " ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGmKgq0zc7cQOv0uNLb7k+JvHq2wU6IYdMM0nW3V1H0S\n"
	writeFile(t, kh, other+fmt.Sprintf("[%s]:%s %s\n", hvBehind, l.port, l.hostKey))
	_, err = libvirtx.Dial(context.Background(), uri, libvirtx.Options{Timeout: 20 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "CHANGED") || !strings.Contains(err.Error(), "jump host bastion") || errors.As(err, &uk) {
		t.Errorf("dial with a changed jump host key: %v; want a refusal naming jump host bastion", err)
	}
}

// ProxyCommand with the real OpenSSH client as the transport (ssh -W
// through a bastion, the only way to the host's name), tokens expanded;
// the command is killed and reaped when the connection closes.
func TestLabSSHProxyCommand(t *testing.T) {
	l := needLabSSH(t)
	dir := t.TempDir()
	b := startSSHD(t, l, sshdOpts{hosts: []string{hvBehind}, extra: []string{"PermitOpen " + hvBehind + ":" + l.port}})
	kh := filepath.Join(dir, "known_hosts")
	writeFile(t, kh, b.knownHostsLine("127.0.0.1")+fmt.Sprintf("[%s]:%s %s\n", hvBehind, l.port, l.hostKey))
	attempts := filepath.Join(dir, "attempts")
	pidFile := filepath.Join(dir, "proxy.pid")
	sshHome(t, fmt.Sprintf(`
Host hv-pc hv-fail hv-hang
  HostName %[1]s
  Port %[2]s
  User root
  IdentityFile %[3]s
  UserKnownHostsFile %[4]s

Host hv-pc
  ProxyCommand ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=%[4]s -i %[3]s -p %[5]s -l %%r -W %%h:%%p 127.0.0.1
Host hv-fail
  ProxyCommand sh -c 'echo x >>%[6]s; echo "no route to %%h port %%p (100%%%% sure)" >&2; exit 3'
Host hv-hang
  ProxyCommand sh -c 'echo $$ >%[7]s; exec sleep 600'
`, hvBehind, l.port, l.clientKey, kh, b.port, attempts, pidFile))

	t.Run("ssh -W", func(t *testing.T) {
		ctx := context.Background()
		before := childPIDs(t)
		c, err := libvirtx.Dial(ctx, "qemu+ssh://hv-pc/system", libvirtx.Options{Timeout: 30 * time.Second})
		if err != nil {
			t.Fatalf("dial through the ProxyCommand: %v", err)
		}
		pools, err := c.Pools(ctx)
		if err != nil || len(pools) == 0 {
			t.Errorf("pools over the ProxyCommand: %v, %v", pools, err)
		}
		proxyPID := 0
		for pid, cmd := range childPIDs(t) {
			if _, ok := before[pid]; !ok && strings.Contains(cmd, "-W "+hvBehind+":"+l.port) && strings.Contains(cmd, "-l root") {
				proxyPID = pid
			}
		}
		if proxyPID == 0 {
			t.Errorf("no `ssh -W %s:%s -l root` child while connected: %v", hvBehind, l.port, childPIDs(t))
		}
		if !b.log.waitFor("target "+hvBehind+" port "+l.port, 10*time.Second) {
			t.Errorf("the bastion never forwarded to the host; its log:\n%s", b.log.text())
		}
		c.Close()
		if proxyPID != 0 && !processGone(proxyPID) {
			t.Errorf("ProxyCommand pid %d still exists after Close (not killed, or a zombie not reaped)", proxyPID)
		}
	})

	t.Run("fails", func(t *testing.T) {
		_, err := libvirtx.Dial(context.Background(), "qemu+ssh://hv-fail/system", libvirtx.Options{Timeout: 20 * time.Second})
		want := "no route to " + hvBehind + " port " + l.port + " (100% sure)"
		if err == nil || !strings.Contains(err.Error(), "ProxyCommand") || !strings.Contains(err.Error(), "exit status 3") ||
			!strings.Contains(err.Error(), want) {
			t.Errorf("dial through a failing ProxyCommand: %v; want its exit status and stderr %q", err, want)
		}
		b, _ := os.ReadFile(attempts)
		if n := strings.Count(string(b), "x"); n != 1 {
			t.Errorf("a failing ProxyCommand ran %d times; a failure that is not transient is not retried", n)
		}
	})

	t.Run("hangs", func(t *testing.T) {
		_, err := libvirtx.Dial(context.Background(), "qemu+ssh://hv-hang/system", libvirtx.Options{Timeout: 2 * time.Second})
		if !errors.Is(err, libvirtx.ErrTimeout) || !strings.Contains(err.Error(), "ProxyCommand") {
			t.Errorf("dial through a ProxyCommand that never answers: %v; want a timeout naming the ProxyCommand", err)
		}
		b, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatalf("the hanging ProxyCommand never ran: %v", err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if pid == 0 || !processGone(pid) {
			t.Errorf("the hanging ProxyCommand (pid %d) survived the failed dial", pid)
		}
	})
}

// A jump host that accepts TCP but never speaks (its sshd stopped with
// SIGSTOP) cannot hold a dial past its timeout; the error names the hop.
func TestLabSSHJumpHostHangs(t *testing.T) {
	l := needLabSSH(t)
	dir := t.TempDir()
	b := startSSHD(t, l, sshdOpts{})
	kh := filepath.Join(dir, "known_hosts")
	writeFile(t, kh, b.knownHostsLine("127.0.0.1"))
	sshHome(t, fmt.Sprintf(`
Host stuck
  HostName 127.0.0.1
  Port %s
Host hv1
  HostName 127.0.0.1
  Port %s
  ProxyJump stuck
Host *
  User root
  IdentityFile %s
  UserKnownHostsFile %s
`, b.port, l.port, l.clientKey, kh))
	if err := b.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	_, err := libvirtx.Dial(context.Background(), "qemu+ssh://hv1/system", libvirtx.Options{Timeout: 2 * time.Second})
	if !errors.Is(err, libvirtx.ErrTimeout) || !strings.Contains(err.Error(), "jump host stuck") {
		t.Errorf("dial through a jump host that never answers: %v; want a timeout naming jump host stuck", err)
	}
}

// sshd's MaxStartups drops unauthenticated connections past its limit;
// 24 dials at once (with the default timeout) through an sshd that admits
// two at a time all succeed, and the sshd's log shows it did drop some
// (so retries happened). Measured here: about 60 drops per run, at most 6
// attempts for one dial with two busy loops on both cores (MaxStartups 1:
// at most 8 of the 10 attempts, too close to the bound for a test).
func TestLabSSHMaxStartups(t *testing.T) {
	l := needLabSSH(t)
	dir := t.TempDir()
	s := startSSHD(t, l, sshdOpts{extra: []string{"MaxStartups 2"}})
	kh := filepath.Join(dir, "known_hosts")
	writeFile(t, kh, s.knownHostsLine("127.0.0.1"))
	sshHome(t, "")
	uri := fmt.Sprintf("qemu+ssh://root@127.0.0.1:%s/system?keyfile=%s&known_hosts=%s", s.port, l.clientKey, kh)

	const n = 24
	ctx := context.Background()
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			c, err := libvirtx.Dial(ctx, uri, libvirtx.Options{})
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			if _, err := c.Pools(ctx); err != nil {
				errs[i] = err
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("dial %d of %d: %v", i+1, n, err)
		}
	}
	if !s.log.waitFor("past MaxStartups", 10*time.Second) {
		t.Errorf("sshd dropped no connection: the test proved nothing about retries; its log:\n%s", s.log.text())
	}
	t.Logf("sshd dropped %d connections past MaxStartups; all %d dials succeeded", s.log.count("past MaxStartups"), n)
}
