package cli

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"stowage/cli/env"
	"stowage/lab"
	"stowage/ui/app"
	"stowage/ui/keys"
)

// Golden screens of the console on the test-driver fixture host
// (testdata/host.xml through the lab's libvirtd): 120x30, ASCII colour
// profile, files in cli/testdata/TestGoldenScreens/ (the fixture is ../testdata/host.xml). Regenerate with
//
//	STOWAGE_LAB=require go test -run TestGoldenScreens -update ./cli/
//
// They are few on purpose: they go stale on framework upgrades.

// goldenFixture copies the fixture host to a fixed path, so the URI shown
// on screen is the same on every machine whatever the checkout's path.
func goldenFixture(t *testing.T) string {
	t.Helper()
	lab.Need(t)
	src, err := os.ReadFile("../testdata/host.xml")
	if err != nil {
		t.Fatal(err)
	}
	dst := "/tmp/stowage-golden/host.xml"
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
	return "test://" + dst
}

// screenWatch wraps the root and keeps the text of the last frame it drew,
// so tests wait on whole screens rather than on the renderer's diffs
// (which write only the cells that changed).
type screenWatch struct {
	*app.Model
	mu     sync.Mutex
	screen string
}

func (w *screenWatch) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := w.Model.Update(msg)
	return w, cmd
}

func (w *screenWatch) View() tea.View {
	v := w.Model.View()
	w.mu.Lock()
	w.screen = ansi.Strip(v.Content)
	w.mu.Unlock()
	return v
}

// frameEnd ends each frame a frameReader yields.
const frameEnd = "\f"

// Reader yields the last frame once per read cycle: teatest.WaitFor reads
// it until EOF at every check.
func (w *screenWatch) Reader() io.Reader { return &frameReader{w: w} }

type frameReader struct {
	w    *screenWatch
	rest *strings.Reader
}

func (r *frameReader) Read(p []byte) (int, error) {
	if r.rest == nil {
		r.w.mu.Lock()
		r.rest = strings.NewReader(r.w.screen + frameEnd)
		r.w.mu.Unlock()
	}
	n, err := r.rest.Read(p)
	if err == io.EOF {
		r.rest = nil
	}
	return n, err
}

// keyPress is the message for a binding's first key.
func keyPress(b key.Binding) tea.KeyPressMsg {
	k := b.Keys()[0]
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	}
	return tea.KeyPressMsg{Code: []rune(k)[0], Text: k}
}

// waitScreen waits until a frame drawn since the call satisfies ok. Its
// duration is a hang guard only, generous for a loaded 2-core machine.
func waitScreen(t *testing.T, w *screenWatch, ok func(screen string) bool) {
	t.Helper()
	teatest.WaitFor(t, w.Reader(), func(b []byte) bool {
		// WaitFor accumulates every read: judge the latest frame only.
		frames := strings.Split(strings.TrimSuffix(string(b), frameEnd), frameEnd)
		return ok(frames[len(frames)-1])
	},
		teatest.WithDuration(2*time.Minute), teatest.WithCheckInterval(5*time.Millisecond))
}

func waitText(t *testing.T, w *screenWatch, s string) {
	t.Helper()
	waitScreen(t, w, func(screen string) bool { return strings.Contains(screen, s) })
}

func TestGoldenScreens(t *testing.T) {
	uri := goldenFixture(t)
	km := keys.Default()
	cases := []struct {
		name string
		// drive presses keys and waits for the screen they lead to.
		drive func(t *testing.T, tm *teatest.TestModel, w *screenWatch)
	}{
		{"pools_gluster_reason", func(t *testing.T, tm *teatest.TestModel, w *screenWatch) {
			waitText(t, w, "gv0: can create drives: no")
		}},
		{"pools_iscsi_reason", func(t *testing.T, tm *teatest.TestModel, w *screenWatch) {
			for range 3 {
				tm.Send(keyPress(km.Down))
			}
			waitText(t, w, "san: can create drives: no")
		}},
		{"volumes", func(t *testing.T, tm *teatest.TestModel, w *screenWatch) {
			tm.Send(keyPress(km.Volumes))
			waitText(t, w, "ATTACHED TO")
		}},
		{"vms", func(t *testing.T, tm *teatest.TestModel, w *screenWatch) {
			tm.Send(keyPress(km.VMs))
			waitText(t, w, "shut off")
		}},
		{"describe_luks_volume", func(t *testing.T, tm *teatest.TestModel, w *screenWatch) {
			tm.Send(keyPress(km.Volumes))
			waitText(t, w, "ATTACHED TO")
			tm.Send(keyPress(km.Filter))
			tm.Type("vault")
			tm.Send(keyPress(km.Enter))
			tm.Send(keyPress(km.Describe))
			waitText(t, w, "passphrase")
		}},
		{"hosts_doctor_banner", func(t *testing.T, tm *teatest.TestModel, w *screenWatch) {
			tm.Send(keyPress(km.Hosts))
			waitText(t, w, "doctor: ")
		}},
		{"diagnose_host", func(t *testing.T, tm *teatest.TestModel, w *screenWatch) {
			tm.Send(keyPress(km.Hosts))
			waitText(t, w, "doctor: ")
			tm.Send(keyPress(km.Diagnose))
			waitScreen(t, w, func(s string) bool {
				return strings.Contains(s, "Doctor: host") && !strings.Contains(s, "reading the host again") &&
					!strings.Contains(s, "still running")
			})
		}},
		{"help_on_pools", func(t *testing.T, tm *teatest.TestModel, w *screenWatch) {
			tm.Send(keyPress(km.Help))
			waitText(t, w, "any key closes")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, closeHosts := newConsole(consoleEnv(t, []string{uri}, env.Config{}, true, slog.New(slog.DiscardHandler), 10*time.Second))
			defer closeHosts()
			w := &screenWatch{Model: m}
			tm := teatest.NewTestModel(t, w, teatest.WithInitialTermSize(120, 30),
				teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
			// Loaded: the host line drops "loading…" once the first
			// refresh ended (DoneMsg), and the pools are listed.
			waitScreen(t, w, func(s string) bool {
				return strings.Contains(s, "9.0.0") && strings.Contains(s, "gv0") && !strings.Contains(s, "loading")
			})
			c.drive(t, tm, w)
			if err := tm.Quit(); err != nil {
				t.Fatal(err)
			}
			final := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*screenWatch)
			var out bytes.Buffer
			pw := &colorprofile.Writer{Forward: &out, Profile: colorprofile.ASCII}
			if _, err := pw.WriteString(final.View().Content); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), "loading") {
				t.Error("screen still loading")
			}
			teatest.RequireEqualOutput(t, out.Bytes())
		})
	}
}
