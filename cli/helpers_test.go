package cli

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/cli/env"
	"stowage/plan"
	"stowage/themes"
	"stowage/ui/keys"

	"libvirt.org/go/libvirtxml"
)

// testEnv is the environment a command builds (env.Load), with the
// config in a directory of the test's own unless the test chose one;
// closed with the test.
func testEnv(t testing.TB, f env.Flags) *env.Env {
	t.Helper()
	e, err := env.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// consoleEnv is the environment the console gets for uris and cfg, built
// directly (no config file): the dark theme, the default keys with cfg's
// remaps, the audit log under $XDG_STATE_HOME as the test set it, log as
// stowage's log, refresh only on demand.
func consoleEnv(t testing.TB, uris []string, cfg env.Config, noColor bool, log *slog.Logger, timeout time.Duration) *env.Env {
	t.Helper()
	pal, err := themes.Lookup("dark")
	if err != nil {
		t.Fatal(err)
	}
	e := &env.Env{Config: cfg, Hosts: uris, Theme: "dark", Styles: themes.Build(pal, noColor), Keys: keys.Default(),
		Timeout: timeout, Refresh: time.Hour, Log: log, Audit: plan.NewAudit(plan.DefaultAuditPath())}
	if err := e.Keys.Remap(cfg.Keys); err != nil {
		t.Fatal(err)
	}
	e.Connector = env.NewConnector(e.Dial(timeout))
	t.Cleanup(e.Close)
	return e
}

func virsh(t *testing.T, uri string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command("virsh", append([]string{"-q", "-c", uri}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("virsh %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

func mustVirsh(t *testing.T, uri string, args ...string) string {
	t.Helper()
	out, err := virsh(t, uri, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// colonFields reads virsh's "Key: value" lines.
func colonFields(s string) map[string]string {
	out := map[string]string{}
	for line := range strings.Lines(s) {
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

// cfgNone is an empty config.yaml, nameable where a test's lab.Env is
// called env.
var cfgNone env.Config

// defineSecretXML defines s with virsh; it is undefined with the test.
func defineSecretXML(t *testing.T, uri string, s *libvirtxml.Secret) string {
	t.Helper()
	doc, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "secret.xml")
	if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("virsh", "-c", uri, "secret-define", f).Output()
	if err != nil || len(strings.Fields(string(out))) < 2 {
		t.Fatalf("virsh secret-define: %q %v", out, err)
	}
	uuid := strings.Fields(string(out))[1]
	t.Cleanup(func() { _, _ = virsh(t, uri, "secret-undefine", uuid) })
	return uuid
}
