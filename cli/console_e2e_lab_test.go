package cli

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"stowage/cli/env"
	"stowage/lab"
	"stowage/ui/app"
	"stowage/ui/keys"
)

// The console end to end on the real lab: the root model bin/stowage runs
// (newConsole), driven through teatest by key bindings, against the lab's
// libvirtd, Ceph, tgtd and the nested hypervisor. No fakes. Every frame the
// program renders is kept and checked for secrets at the end.

// e2eConsole wraps the console's root model. It records every distinct
// frame (ANSI stripped) and the bindings the top screen offers, and
// signals each new frame so tests wait on frames, never on clocks.
type e2eConsole struct {
	*app.Model
	t   *testing.T
	tm  *teatest.TestModel
	km  keys.Map
	log *e2eLog
	// stateDir holds the audit log of this console.
	stateDir string
	// raw is the terminal output read so far.
	raw []byte

	mu      sync.Mutex
	screen  string
	help    []key.Binding
	frames  []string
	changed chan struct{}
}

func (c *e2eConsole) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := c.Model.Update(msg)
	return c, cmd
}

func (c *e2eConsole) View() tea.View {
	v := c.Model.View()
	screen := ansi.Strip(v.Content)
	help := c.Model.Top().ShortHelp()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.help = help
	if screen != c.screen {
		c.screen = screen
		c.frames = append(c.frames, screen)
		close(c.changed)
		c.changed = make(chan struct{})
	}
	return v
}

// e2eLog is stowage's log of one console (written from Cmds).
type e2eLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *e2eLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *e2eLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// e2eGuard bounds a wait for a screen that should come quickly; flows
// that build on the nested TCG hypervisor pass longer guards. Guards only
// turn a hang into a failure.
const e2eGuard = 2 * time.Minute

// e2eOpen starts the console on uris as `stowage --uri …` would, with
// cfg as config.yaml, at 160x45.
func e2eOpen(t *testing.T, uris []string, cfg env.Config) *e2eConsole {
	t.Helper()
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	logBuf := &e2eLog{}
	e := consoleEnv(t, uris, cfg, false, slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})), libvirtxTimeoutForE2E)
	m, closeHosts := newConsole(e)
	c := &e2eConsole{Model: m, t: t, km: keys.Default(), log: logBuf, stateDir: state, changed: make(chan struct{})}
	c.tm = teatest.NewTestModel(t, c, teatest.WithInitialTermSize(160, 45))
	t.Cleanup(func() {
		_ = c.tm.Quit()
		c.tm.WaitFinished(t, teatest.WithFinalTimeout(e2eGuard))
		closeHosts()
	})
	return c
}

// libvirtxTimeoutForE2E is the console's per-call bound here: the nested
// hypervisor under TCG answers slowly, and a timeout is not under test.
const libvirtxTimeoutForE2E = 3 * time.Minute

// waitFor waits until a frame satisfies ok and returns it. It judges every
// frame drawn since the call (the one on screen first), so a frame that
// shows briefly is not missed.
func (c *e2eConsole) waitFor(what string, guard time.Duration, ok func(screen string) bool) string {
	c.t.Helper()
	hang := time.NewTimer(guard)
	defer hang.Stop()
	c.mu.Lock()
	next := max(len(c.frames)-1, 0)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		frames, changed := c.frames[next:], c.changed
		next = len(c.frames)
		c.mu.Unlock()
		for _, f := range frames {
			if ok(f) {
				return f
			}
		}
		select {
		case <-changed:
		case <-hang.C:
			c.mu.Lock()
			screen := c.screen
			c.mu.Unlock()
			c.t.Fatalf("waiting for %s: not on screen after %s; the screen:\n%s", what, guard, screen)
		}
	}
}

// screenNow is the frame on screen.
func (c *e2eConsole) screenNow() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.screen
}

// waitText waits until every one of texts is on screen.
func (c *e2eConsole) waitText(guard time.Duration, texts ...string) string {
	c.t.Helper()
	return c.waitFor(strings.Join(texts, " + "), guard, func(s string) bool {
		for _, x := range texts {
			if !strings.Contains(s, x) {
				return false
			}
		}
		return true
	})
}

// press sends a binding's first key.
func (c *e2eConsole) press(b key.Binding) {
	c.t.Helper()
	if len(b.Keys()) == 0 {
		c.t.Fatalf("binding %q has no keys", b.Help().Desc)
	}
	c.tm.Send(e2eKey(c.t, b.Keys()[0]))
}

// typ types text.
func (c *e2eConsole) typ(s string) { c.tm.Type(s) }

// offered is the binding the top screen offers (in its help) for desc:
// screens whose keymaps are private are driven by what they show.
func (c *e2eConsole) offered(desc string) key.Binding {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.help {
		if b.Help().Desc == desc && b.Enabled() {
			return b
		}
	}
	var have []string
	for _, b := range c.help {
		have = append(have, b.Help().Key+" "+b.Help().Desc)
	}
	c.t.Fatalf("the screen offers no %q key (it offers %q)", desc, have)
	return key.Binding{}
}

// keyMsg is the key press for a binding's key name.
func e2eKey(t *testing.T, k string) tea.KeyPressMsg {
	t.Helper()
	named := map[string]tea.KeyPressMsg{
		"enter": {Code: tea.KeyEnter}, "esc": {Code: tea.KeyEscape}, "tab": {Code: tea.KeyTab},
		"space": {Code: tea.KeySpace, Text: " "}, "down": {Code: tea.KeyDown}, "up": {Code: tea.KeyUp},
		"backspace": {Code: tea.KeyBackspace}, "home": {Code: tea.KeyHome}, "end": {Code: tea.KeyEnd},
	}
	if m, ok := named[k]; ok {
		return m
	}
	if r, ok := strings.CutPrefix(k, "ctrl+"); ok && len(r) == 1 {
		return tea.KeyPressMsg{Code: rune(r[0]), Mod: tea.ModCtrl}
	}
	if rs := []rune(k); len(rs) == 1 {
		return tea.KeyPressMsg{Code: rs[0], Text: k}
	}
	t.Fatalf("no key message for %q", k)
	return tea.KeyPressMsg{}
}

// focused reports whether huh draws the field titled title as focused:
// the focused field carries a thick left border.
func huhFocused(screen, title string) bool {
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "┃ "+title) {
			return true
		}
	}
	return false
}

// selectedOption is the option under a huh select's cursor ("> x").
func huhSelected(screen, option string) bool {
	for _, l := range strings.Split(screen, "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "┃"))
		if strings.HasPrefix(l, "> "+option) {
			return true
		}
	}
	return false
}

// assertNoSecrets checks every frame the console rendered so far, the
// bytes it wrote to the terminal, stowage's log and every file under its
// state directory (the audit log) for every form of the secrets (each
// encoding, and each 16-byte run of one: a truncated line still leaks).
func (c *e2eConsole) assertNoSecrets(secrets ...*lab.Secret) {
	c.t.Helper()
	c.mu.Lock()
	frames := append([]string(nil), c.frames...)
	c.mu.Unlock()
	if len(frames) < 10 {
		c.t.Fatalf("only %d frames captured: the frame log is broken", len(frames))
	}
	more, _ := io.ReadAll(c.tm.Output()) // what was written since the last check
	c.raw = append(c.raw, more...)
	var files []string
	for _, s := range secrets {
		for i, f := range frames {
			s.AssertAbsent(c.t, fmt.Sprintf("frame %d of %d", i, len(frames)), []byte(f))
		}
		s.AssertAbsent(c.t, "the terminal output", c.raw)
		s.AssertAbsent(c.t, "the terminal output without escapes", []byte(ansi.Strip(string(c.raw))))
		s.AssertAbsent(c.t, "stowage's log", []byte(c.log.String()))
		files = s.AssertAbsentInFiles(c.t, c.stateDir)
	}
	c.t.Logf("no secret in %d frames, %d bytes of terminal output, %d bytes of log, files %v", len(frames), len(c.raw), len(c.log.String()), files)
}

// e2eVirsh runs virsh on uri and returns its output.
func e2eVirsh(t *testing.T, uri string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("virsh", append([]string{"-c", uri}, args...)...).CombinedOutput()
	return string(out), err
}

func e2eMustVirsh(t *testing.T, uri string, args ...string) string {
	t.Helper()
	out, err := e2eVirsh(t, uri, args...)
	if err != nil {
		t.Fatalf("virsh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// e2eSecretValue reads a secret's value where the lab's libvirtd keeps
// it (root only): stowage's secrets are private, so libvirt's API refuses
// it, but the test must know the value to look for it on screen.
func e2eSecretValue(t *testing.T, name, uuid string) *lab.Secret {
	t.Helper()
	for _, dir := range []string{"/etc/libvirt/secrets", "/run/libvirt/secrets"} {
		b, err := os.ReadFile(filepath.Join(dir, uuid+".base64"))
		if err != nil {
			continue
		}
		v, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("secret %s: %v", uuid, err)
		}
		// stowage's passphrases are the URL-safe base64 of 32 random bytes:
		// look for those bytes too.
		raw, err := base64.RawURLEncoding.DecodeString(string(v))
		if err != nil || len(raw) != 32 {
			t.Fatalf("secret %s does not hold a passphrase of stowage's making (%d bytes, %v)", uuid, len(v), err)
		}
		return lab.NewSecret(name, v, raw)
	}
	t.Fatalf("the value of secret %s is in neither /etc/libvirt/secrets nor /run/libvirt/secrets (run as root on the lab host)", uuid)
	return nil
}

// e2eCephxKey is the key in a Ceph keyring file ("key = …"), as typed
// (base64) and raw.
func e2eCephxKey(t *testing.T, keyring string) *lab.Secret {
	t.Helper()
	b, err := os.ReadFile(keyring)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*key\s*=\s*(\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no key in %s", keyring)
	}
	raw, err := base64.StdEncoding.DecodeString(string(m[1]))
	if err != nil {
		t.Fatalf("the key in %s: %v", keyring, err)
	}
	return lab.NewSecret("the cephx key of "+filepath.Base(keyring), m[1], raw)
}

func e2eStamp() string { return fmt.Sprintf("%d", time.Now().UnixNano()%1e9) }
