package libvirtx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"stowage/lab"
	"stowage/libvirtx"
)

// tcpToLab is a qemu+tcp endpoint for the lab's libvirtd: a TCP listener
// on ip that relays each connection to libvirtd's unix socket (libvirtd
// itself listens on no TCP port). Only connections from ip itself are
// relayed. Closed in Cleanup.
func tcpToLab(t *testing.T, ip string) (port string) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	track := func(c net.Conn) { mu.Lock(); open = append(open, c); mu.Unlock() }
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if h, _, _ := net.SplitHostPort(c.RemoteAddr().String()); h != ip {
				c.Close()
				continue
			}
			u, err := net.Dial("unix", "/run/libvirt/libvirt-sock")
			if err != nil {
				c.Close()
				continue
			}
			track(c)
			track(u)
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(u, c); u.Close() }()
			go func() { defer wg.Done(); _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return port
}

// nonLoopbackIP is one of this machine's own addresses that is not
// loopback: qemu+tcp to it leaves the loopback interface's protection.
func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	lab.Unavailable(t, "this machine has no non-loopback IPv4 address to reach libvirtd over qemu+tcp")
	return ""
}

func secretsWithUsage(t *testing.T, env lab.Env, usage string) int {
	t.Helper()
	out, err := exec.Command("virsh", "-q", "-c", env.URI, "secret-list").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(out), usage)
}

// qemu+tcp to a non-loopback address: the connection works (pools are
// listed), but no secret is defined or set over it; virsh on the lab's
// libvirtd confirms the refused definition left nothing.
func TestLabTCPRefusesSecrets(t *testing.T) {
	env := lab.Need(t)
	ip := nonLoopbackIP(t)
	uri := "qemu+tcp://" + ip + ":" + tcpToLab(t, ip) + "/system"
	ctx := context.Background()
	c, err := libvirtx.Dial(ctx, uri, libvirtx.Options{})
	if err != nil {
		t.Fatalf("dial %s: %v", uri, err)
	}
	defer c.Close()
	if _, err := c.Pool(ctx, env.DirPool); err != nil {
		t.Fatalf("browsing over qemu+tcp must work: %v", err)
	}

	usage := fmt.Sprintf("/var/tmp/stowage-t-tcp-refusal-%d.img", os.Getpid())
	if _, err := c.DefineVolumeSecret(ctx, usage, "t-tcp"); !errors.Is(err, libvirtx.ErrPlaintextSecret) {
		t.Fatalf("DefineVolumeSecret over qemu+tcp to %s: %v; want a refusal", ip, err)
	} else if !strings.Contains(err.Error(), "qemu+ssh://") || !strings.Contains(err.Error(), "qemu+tls://") {
		t.Errorf("the refusal must say what to use instead: %v", err)
	}
	if n := secretsWithUsage(t, env, usage); n != 0 {
		t.Errorf("virsh lists %d secret(s) for %s after the refusal", n, usage)
	}

	// An existing secret (made through the unix socket) is not given a
	// value over qemu+tcp either.
	local, err := libvirtx.Dial(ctx, env.URI, libvirtx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	uuid, err := local.DefineVolumeSecret(ctx, usage, "t-tcp")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := local.UndefineSecret(context.Background(), uuid); err != nil {
			t.Errorf("remove the test's secret %s: %v", uuid, err)
		}
	}()
	if err := c.SetSecretValue(ctx, uuid, []byte("never sent")); !errors.Is(err, libvirtx.ErrPlaintextSecret) {
		t.Fatalf("SetSecretValue over qemu+tcp: %v; want a refusal", err)
	}
	sec, err := local.Secret(ctx, uuid)
	if err != nil {
		t.Fatal(err)
	}
	if sec.UsageID != usage {
		t.Fatalf("secret %s: usage %q", uuid, sec.UsageID)
	}
}

// qemu+tcp to loopback never leaves this machine: secrets are allowed.
func TestLabTCPLoopbackAllowsSecrets(t *testing.T) {
	env := lab.Need(t)
	uri := "qemu+tcp://127.0.0.1:" + tcpToLab(t, "127.0.0.1") + "/system"
	ctx := context.Background()
	c, err := libvirtx.Dial(ctx, uri, libvirtx.Options{})
	if err != nil {
		t.Fatalf("dial %s: %v", uri, err)
	}
	defer c.Close()
	usage := fmt.Sprintf("/var/tmp/stowage-t-tcp-loopback-%d.img", os.Getpid())
	uuid, err := c.DefineVolumeSecret(ctx, usage, "t-tcp-loopback")
	if err != nil {
		t.Fatalf("over loopback: %v", err)
	}
	defer func() {
		if err := c.UndefineSecret(ctx, uuid); err != nil {
			t.Errorf("remove the test's secret %s: %v", uuid, err)
		}
	}()
	if err := c.SetSecretValue(ctx, uuid, []byte("loopback only")); err != nil {
		t.Fatalf("over loopback: %v", err)
	}
	if n := secretsWithUsage(t, env, usage); n != 1 {
		t.Errorf("virsh lists %d secret(s) for %s; want 1", n, usage)
	}
}
