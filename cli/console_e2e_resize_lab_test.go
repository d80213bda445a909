package cli

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"charm.land/huh/v2"

	"stowage/lab"
)

// The console's resize: z on a plain drive in the volumes view, a shrink
// is refused as typed (no name), esc leaves it with nothing changed, a
// growth runs in the progress view (its step marked irreversible), and
// the volumes view shows the new size once it closes.
func TestConsoleResizesDrive(t *testing.T) {
	env := lab.Need(t)
	name := "t-rs-e2e-" + e2eStamp()
	e2eForgetDrive(t, env.URI, env.DirPool, name)
	if r := driveCLI(nil, "create", "--uri", env.URI, "--pool", env.DirPool, "--name", name, "--size", "32M", "--encryption", "none"); r.rc != 0 {
		t.Fatalf("create: %d %s", r.rc, r.stderr)
	}
	c := e2eOpen(t, []string{env.URI}, cfgNone)
	c.waitFor("the lab's pools", e2eGuard, func(s string) bool {
		return strings.Contains(s, env.DirPool) && !strings.Contains(s, "loading")
	})
	c.press(c.km.Volumes)
	c.waitText(e2eGuard, "ATTACHED TO")
	c.press(c.km.Filter)
	c.typ(name)
	c.press(c.km.Enter)
	c.waitFor("the drive alone in the volumes view", e2eGuard, func(s string) bool {
		return strings.Contains(s, name) && strings.Contains(s, "1/")
	})
	c.press(c.km.ResizeDrive)
	c.waitText(e2eGuard, "New size for "+env.DirPool+"/"+name, "now 32.0 MiB for the guest")
	hk := huh.NewDefaultKeyMap()
	c.typ("16M")
	c.press(hk.Input.Next)
	c.waitText(e2eGuard, "Shrink only: type the drive's name")
	c.press(hk.Input.Next)
	c.waitText(e2eGuard, "is not the drive's name")
	if got := colonFields(mustVirsh(t, env.URI, "vol-info", "--pool", env.DirPool, name, "--bytes"))["Capacity"]; got != fmt.Sprintf("%d bytes", 32<<20) {
		t.Fatalf("a refused shrink changed the capacity to %s", got)
	}
	// Leave the form (nothing happens) and open it again for a growth.
	c.press(c.km.Form.Cancel)
	// The pop is a message of its own: wait until the volumes view is on
	// top again (the breadcrumbs end there), or the next key would reach
	// the closing form.
	c.waitFor("the volumes view again", e2eGuard, func(s string) bool {
		first, _, _ := strings.Cut(s, "\n")
		return strings.HasSuffix(strings.TrimSpace(first), "volumes")
	})
	c.press(c.km.ResizeDrive)
	c.waitText(e2eGuard, "New size for "+env.DirPool+"/"+name)
	c.typ("+16M")
	c.press(hk.Input.Next)
	c.waitText(e2eGuard, "Shrink only: type the drive's name")
	c.press(hk.Input.Next)
	end := c.waitFor("the resize's end", 5*time.Minute, func(s string) bool { return strings.Contains(s, "enter/esc: close") })
	if !strings.Contains(end, "done") || strings.Contains(end, "failed:") || !strings.Contains(end, "cannot be undone") {
		t.Fatalf("resize did not succeed (or its step is not marked irreversible):\n%s", end)
	}
	if got := colonFields(mustVirsh(t, env.URI, "vol-info", "--pool", env.DirPool, name, "--bytes"))["Capacity"]; got != fmt.Sprintf("%d bytes", 48<<20) {
		t.Errorf("capacity %s after +16M, want %d bytes", got, 48<<20)
	}
	c.press(c.offered("close"))
	c.waitFor("the volumes view with the new size", e2eGuard, func(s string) bool {
		for _, l := range strings.Split(s, "\n") {
			if strings.Contains(l, name) && strings.Contains(l, "48 MiB") {
				return true
			}
		}
		return false
	})
}
