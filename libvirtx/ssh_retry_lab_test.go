package libvirtx

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"stowage/lab"
)

// Real refusals from the lab's sshd (and a closed port) go through the
// real dialer with a recording sleep: none of them is retried.
func TestLabSSHRetryOnlyTransient(t *testing.T) {
	env := lab.Need(t)
	if env.SSHURI == "" {
		lab.Unavailable(t, "lab/env has no STOWAGE_LAB_SSH_URI: rerun lab/up")
	}
	u, err := url.Parse(env.SSHURI)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	strangerKey := filepath.Join(dir, "stranger")
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(strangerKey, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	t.Setenv("SSH_AUTH_SOCK", "")
	labKey, labKnown := u.Query().Get("keyfile"), u.Query().Get("known_hosts")

	for name, tc := range map[string]struct {
		uri, want string
	}{
		"connection refused": {
			"qemu+ssh://root@127.0.0.1:" + strconv.Itoa(closedPort) + "/system?keyfile=" + labKey + "&known_hosts=" + labKnown,
			"connection refused",
		},
		"authentication": {
			"qemu+ssh://root@" + u.Host + "/system?keyfile=" + strangerKey + "&known_hosts=" + labKnown,
			"unable to authenticate",
		},
		"unknown host key": {
			"qemu+ssh://root@" + u.Host + "/system?keyfile=" + labKey + "&known_hosts=" + filepath.Join(dir, "empty_known_hosts"),
			"unknown SSH host key",
		},
	} {
		t.Run(name, func(t *testing.T) {
			tg, err := ParseURI(tc.uri, false)
			if err != nil {
				t.Fatal(err)
			}
			d, err := newSSHDialer(tg, 20*time.Second, sshEnv{home: dir, localUser: "root"})
			if err != nil {
				t.Fatal(err)
			}
			var slept []time.Duration
			d.retry.sleep = func(p time.Duration) { slept = append(slept, p) }
			c, err := d.Dial()
			if err == nil {
				c.Close()
				t.Fatal("dial succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || len(slept) != 0 {
				t.Errorf("dial: %v, after pauses %v; want %q at once", err, slept, tc.want)
			}
			var te *transientError
			if errors.As(err, &te) {
				t.Errorf("%v is marked transient", err)
			}
		})
	}
}
