package cli

import (
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"stowage/lab"
	"stowage/ui/keys"
)

// TestConsoleTrustsUnknownSSHHostKey opens the console on the lab's sshd
// with an empty known_hosts: the first-run screen shows the key's
// fingerprint and the trust key; pressing it records the key and the host
// connects, with its pools on screen.
func TestConsoleTrustsUnknownSSHHostKey(t *testing.T) {
	env := lab.Need(t)
	if env.SSHURI == "" {
		t.Fatal("lab/env has no STOWAGE_LAB_SSH_URI: run lab/up")
	}
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(env.SSHURI)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("known_hosts", kh)
	u.RawQuery = q.Encode()

	km := keys.Default()
	m, closeHosts := newConsole(consoleEnv(t, []string{u.String()}, cfgNone, true, slog.New(slog.DiscardHandler), 10*time.Second))
	defer closeHosts()
	w := &screenWatch{Model: m}
	tm := teatest.NewTestModel(t, w, teatest.WithInitialTermSize(140, 40))
	defer tm.Quit()

	waitScreen(t, w, func(s string) bool {
		return strings.Contains(s, "No libvirt host could be reached") && strings.Contains(s, "unknown SSH host key") &&
			strings.Contains(s, "SHA256:") && strings.Contains(s, "Press "+km.Trust.Help().Key+" to trust")
	})
	if b, _ := os.ReadFile(kh); len(b) != 0 {
		t.Fatalf("known_hosts written before the admin agreed: %q", b)
	}
	tm.Send(keyPress(km.Trust))
	waitScreen(t, w, func(s string) bool {
		return strings.Contains(s, "● qemu+ssh://") && strings.Contains(s, env.DirPool) && !strings.Contains(s, "loading")
	})
	b, err := os.ReadFile(kh)
	if err != nil || !strings.Contains(string(b), "ssh-ed25519") {
		t.Errorf("known_hosts after trusting: %q %v", b, err)
	}
}
