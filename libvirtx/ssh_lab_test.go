package libvirtx_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
)

// sshURI returns the lab's qemu+ssh URI with known_hosts swapped for path.
func sshURI(t *testing.T, env lab.Env, knownHosts string) string {
	t.Helper()
	if env.SSHURI == "" {
		t.Fatal("lab/env has no STOWAGE_LAB_SSH_URI: rerun lab/up")
	}
	u, err := url.Parse(env.SSHURI)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("known_hosts", knownHosts)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestLabSSHTransport(t *testing.T) {
	env := lab.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := libvirtx.Dial(ctx, env.SSHURI, libvirtx.Options{})
	if err != nil {
		t.Fatalf("qemu+ssh to the lab: %v", err)
	}
	defer c.Close()
	pools, err := c.Pools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range pools {
		found = found || p.Name == env.DirPool
	}
	if !found {
		t.Errorf("pool %s not seen over qemu+ssh", env.DirPool)
	}
}

// An unknown host key is never trusted silently: the dial fails with the
// fingerprint; after TrustHostKey the same dial succeeds; a changed key is
// refused outright.
func TestLabSSHHostKeyTrust(t *testing.T) {
	env := lab.Need(t)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	uri := sshURI(t, env, kh)
	ctx := context.Background()
	_, err := libvirtx.Dial(ctx, uri, libvirtx.Options{Timeout: 10 * time.Second})
	var uk *model.UnknownHostKeyError
	if !errors.As(err, &uk) {
		t.Fatalf("dial with an empty known_hosts: %v; want UnknownHostKeyError", err)
	}
	if !strings.HasPrefix(uk.Fingerprint, "SHA256:") || uk.Host != "[127.0.0.1]:2222" {
		t.Errorf("unknown key error = %+v", uk)
	}
	if _, err := os.Stat(kh); !os.IsNotExist(err) {
		t.Errorf("known_hosts written before the admin agreed: %v", err)
	}
	if _, err := libvirtx.TrustHostKey(uk, uk); err != nil {
		t.Fatal(err)
	}
	c, err := libvirtx.Dial(ctx, uri, libvirtx.Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("dial after trusting the key: %v", err)
	}
	c.Close()

	// Same host, another key: a changed host key must be refused.
	other := "[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGmKgq0zc7cQOv0uNLb7k+JvHq2wU6IYdMM0nW3V1H0S\n"
	if err := os.WriteFile(kh, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = libvirtx.Dial(ctx, uri, libvirtx.Options{Timeout: 10 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "CHANGED") || errors.As(err, &uk) {
		t.Errorf("dial with a changed host key: %v; want a refusal naming the change", err)
	}
}

func TestLabSSHBadKey(t *testing.T) {
	env := lab.Need(t)
	u, _ := url.Parse(env.SSHURI)
	q := u.Query()
	q.Set("keyfile", "/nonexistent/key")
	u.RawQuery = q.Encode()
	t.Setenv("SSH_AUTH_SOCK", "")
	_, err := libvirtx.Dial(context.Background(), u.String(), libvirtx.Options{Timeout: 10 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "no SSH agent and no readable key") {
		t.Errorf("dial without a usable key: %v", err)
	}
}
