package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"stowage/lab"
	"stowage/plan"
)

// TestConsolePoolActions drives the pools view on the lab as an admin
// would: on a running dir pool of its own, the stop key opens the typed
// confirmation (a wrong name is refused, nothing stops), the name stops
// it, and closing the progress shows the pool stopped; start then runs
// without a question; undefine stops and undefines it. virsh sees each
// change; the audit log has them.
func TestConsolePoolActions(t *testing.T) {
	env := lab.Need(t)
	name := "t-pa-e2e-" + e2eStamp()
	dir := filepath.Join(env.Dir, "t-pa-", name)
	definePaDir(t, env.URI, name, dir)
	mustVirsh(t, env.URI, "pool-build", name)
	mustVirsh(t, env.URI, "pool-start", name)

	c := e2eOpen(t, []string{env.URI}, cfgNone)
	c.waitFor("the lab's pools", e2eGuard, func(s string) bool {
		return strings.Contains(s, name) && strings.Contains(s, "9.0.0") && !strings.Contains(s, "loading")
	})
	c.selectPool(name)

	c.press(c.km.PoolStop)
	c.waitText(e2eGuard, "stop pool "+name, "Type the pool's name to confirm", "uuid ")
	c.typ("not-" + name)
	c.press(c.offered("confirm"))
	c.waitText(e2eGuard, "exactly to confirm")
	if s := poolField(t, env.URI, name, "State"); s != "running" {
		t.Fatalf("a wrong name stopped the pool: %s", s)
	}
	c.press(c.offered("cancel"))
	c.waitFor("the pools screen again", e2eGuard, func(s string) bool { return !strings.Contains(s, "Type the pool's name") })
	c.press(c.km.PoolStop)
	c.waitText(e2eGuard, "Type the pool's name to confirm")
	c.typ(name)
	c.press(c.offered("confirm"))
	end := c.waitFor("the stop's end", e2eGuard, func(s string) bool { return strings.Contains(s, "enter/esc: close") })
	if strings.Contains(end, "failed") {
		t.Fatalf("stop failed:\n%s", end)
	}
	if s := poolField(t, env.URI, name, "State"); s != "inactive" {
		t.Fatalf("after the console's stop: state %s\n%s", s, end)
	}
	c.press(c.offered("close"))
	// Re-read at once: the stopped pool offers start now (in `?`).
	c.waitFor("the pool shown stopped", e2eGuard, func(s string) bool {
		return !strings.Contains(s, "enter/esc: close") && regexp.MustCompile(regexp.QuoteMeta(name)+`\s+dir\s+inactive\s`).MatchString(s)
	})
	c.press(c.km.PoolStart)
	end = c.waitFor("the start's end", e2eGuard, func(s string) bool { return strings.Contains(s, "enter/esc: close") })
	if s := poolField(t, env.URI, name, "State"); s != "running" || strings.Contains(end, "failed") {
		t.Fatalf("after the console's start: state %s\n%s", s, end)
	}
	c.press(c.offered("close"))
	c.waitFor("the pool shown active", e2eGuard, func(s string) bool {
		return !strings.Contains(s, "enter/esc: close") && regexp.MustCompile(regexp.QuoteMeta(name)+`\s+dir\s+active\s`).MatchString(s)
	})
	c.press(c.km.PoolUndefine)
	c.waitText(e2eGuard, "undefine pool "+name, "stop pool "+name, "its storage stays")
	c.typ(name)
	c.press(c.offered("confirm"))
	end = c.waitFor("the undefine's end", e2eGuard, func(s string) bool { return strings.Contains(s, "enter/esc: close") })
	if _, err := virsh(t, env.URI, "pool-info", name); err == nil || strings.Contains(end, "failed") {
		t.Fatalf("the pool is still defined after the console's undefine:\n%s", end)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("undefine removed the storage: %v", err)
	}
	var got []string
	for _, r := range auditTail(t) {
		if strings.Contains(r.Object, name) && r.Result == plan.ResultOK {
			got = append(got, r.Action)
		}
	}
	if want := "pool stop|pool start|pool stop|pool undefine"; strings.Join(got, "|") != want {
		t.Errorf("audit: %q, want %q", got, want)
	}
}
