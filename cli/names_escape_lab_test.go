package cli

import (
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"stowage/lab"
	"stowage/ui/keys"
)

// escName is a volume name libvirt accepts (XML 1.0 allows C1 controls,
// DEL and bidi overrides; it refuses ESC itself): an 8-bit CSI that sets
// red on terminals that honour C1, a DEL, and a right-to-left override
// that reverses what follows.
// The prefix differs from the inventory test's (package main), which may
// run at the same time on the same pool.
const (
	escName    = "t-escc-\u009b31m\x7f\u202ex"
	escShown   = `t-escc-\u009b31m\x7f\u202ex`
	escPattern = "t-escc-"
)

func rawControls(s string) []string {
	var found []string
	for _, bad := range []string{"\u009b", "\x7f", "\u202e"} {
		if strings.Contains(s, bad) {
			found = append(found, strings.Trim(strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(bad, "\u009b", "CSI"), "\x7f", "DEL"), "\u202e", "RLO"), " "))
		}
	}
	return found
}

// TestLabConsoleNamesWithControlCharacters creates, as a second admin
// with virsh, a volume on the lab's dir pool whose name carries control
// characters: the console's volumes screen shows it escaped, and no raw
// control reaches the frame.
func TestLabConsoleNamesWithControlCharacters(t *testing.T) {
	env := lab.Need(t)
	virsh := func(args ...string) (string, error) {
		out, err := exec.Command("virsh", append([]string{"-c", env.URI}, args...)...).CombinedOutput()
		return string(out), err
	}
	virsh("vol-delete", "--pool", env.DirPool, escName)
	if out, err := virsh("vol-create-as", env.DirPool, escName, "1M", "--format", "raw"); err != nil {
		t.Fatalf("virsh vol-create-as with control characters in the name: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := virsh("vol-delete", "--pool", env.DirPool, escName); err != nil {
			t.Errorf("cleanup: %v: %s", err, out)
		}
	})

	// The console: volumes screen, filtered to the volume.
	km := keys.Default()
	m, closeHosts := newConsole(consoleEnv(t, []string{env.URI}, cfgNone, true, slog.New(slog.DiscardHandler), 10*time.Second))
	defer closeHosts()
	w := &screenWatch{Model: m}
	tm := teatest.NewTestModel(t, w, teatest.WithInitialTermSize(160, 40),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
	waitScreen(t, w, func(s string) bool { return strings.Contains(s, env.DirPool) && !strings.Contains(s, "loading") })
	tm.Send(keyPress(km.Volumes))
	waitText(t, w, "ATTACHED TO")
	tm.Send(keyPress(km.Filter))
	tm.Type(escPattern)
	tm.Send(keyPress(km.Enter))
	waitText(t, w, escShown)
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	final := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*screenWatch)
	frame := final.View().Content
	if !strings.Contains(frame, escShown) {
		t.Errorf("the console frame does not show %s escaped:\n%s", escShown, grepLines(frame, escPattern))
	}
	if raw := rawControls(frame); len(raw) > 0 {
		t.Errorf("the console frame carries raw %v", raw)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
