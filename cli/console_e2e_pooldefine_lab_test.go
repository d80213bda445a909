package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"charm.land/huh/v2"

	"stowage/lab"
)

// defineFlow drives the define-pool form from the pools view: the type
// (moved down to typ), the discovery input when the type has one, then
// the fields in order (each typed, then Next), the start and autostart
// questions, the review and the run. It returns the progress view's end.
func (c *e2eConsole) defineFlow(typ, discoverTitle, discoverValue string, fields [][2]string) (review, end string) {
	c.t.Helper()
	hk := huh.NewDefaultKeyMap()
	c.press(c.km.DefinePool)
	screen := c.waitFor("the type field", e2eGuard, func(s string) bool { return huhFocused(s, "Pool type") && huhSelected(s, "dir") })
	for range 10 {
		if huhSelected(screen, typ+" ") {
			break
		}
		prev := huhCursor(screen)
		c.press(hk.Select.Down)
		screen = c.waitFor("the cursor to move", e2eGuard, func(s string) bool { return huhCursor(s) != prev })
	}
	c.press(hk.Select.Next)
	if discoverTitle != "" {
		c.waitFor(discoverTitle, e2eGuard, func(s string) bool { return huhFocused(s, discoverTitle) })
		c.typ(discoverValue)
		c.press(hk.Input.Next)
	}
	for _, f := range fields {
		c.waitFor("field "+f[0], e2eGuard, func(s string) bool { return huhFocused(s, f[0]) })
		c.typ(f[1])
		c.press(hk.Input.Next)
	}
	for _, q := range []string{"Start it now?", "Start with libvirtd (autostart)?"} {
		c.waitFor(q, e2eGuard, func(s string) bool { return strings.Contains(s, q) && huhFocused(s, q) })
		c.press(hk.Confirm.Next)
	}
	review = c.waitText(e2eGuard, "Review: define "+typ+" pool", "virsh equivalent")
	c.press(c.offered("define"))
	end = c.waitFor("the run's end", 5*time.Minute, func(s string) bool { return strings.Contains(s, "enter/esc: close") })
	return review, end
}

// TestConsoleDefinesDirPoolAndRefusesWrongNFSExport: key N on the pools
// view defines a dir pool (running afterwards), and a netfs pool on an
// export that does not exist: its discovery fails with the cause on the
// form, the typed export is used, the start's mount fails and the screen
// shows what was undone; the host's pools are as before.
func TestConsoleDefinesDirPoolAndRefusesWrongNFSExport(t *testing.T) {
	env := lab.Need(t)
	st := e2eStamp()
	dirName, nfsName := "t-pd-e2e-dir-"+st, "t-pd-e2e-nfs-"+st
	base := filepath.Join(env.Dir, "t-pd-e2e-"+st)
	t.Cleanup(func() {
		for _, n := range []string{dirName, nfsName} {
			virsh(t, env.URI, "pool-destroy", n)
			virsh(t, env.URI, "pool-undefine", n)
		}
		os.RemoveAll(base)
	})
	c := e2eOpen(t, []string{env.URI}, cfgNone)
	c.waitFor("the lab's pools", e2eGuard, func(s string) bool {
		return strings.Contains(s, env.DirPool) && !strings.Contains(s, "loading")
	})
	review, end := c.defineFlow("dir", "", "", [][2]string{{"Name", dirName}, {"Directory", filepath.Join(base, "dir")}})
	if !strings.Contains(review, "virsh pool-define "+dirName+".xml") || !strings.Contains(review, "<pool type=\"dir\">") {
		t.Errorf("the review lacks the XML or the virsh equivalent:\n%s", review)
	}
	if strings.Contains(end, "failed") {
		t.Fatalf("define dir failed:\n%s", end)
	}
	if info, err := virsh(t, env.URI, "pool-info", dirName); err != nil || !strings.Contains(info, "running") {
		t.Fatalf("dir pool after the form: %v\n%s", err, info)
	}
	c.press(c.offered("close"))
	c.waitText(e2eGuard, dirName)

	before := pdPools(t, env.URI)
	c.defineFlow("netfs", "NFS server", "127.0.0.1", [][2]string{{"Name", nfsName}, {"Export", "/t-pd-nope"},
		{"Mount point", filepath.Join(base, "nfs")}, {"Format", ""}})
	// The rollback's last lines may be drawn after the close hint.
	end = c.waitText(e2eGuard, "removed pool "+nfsName)
	for _, want := range []string{"mounting the NFS export 127.0.0.1:/t-pd-nope", "removed directory " + filepath.Join(base, "nfs")} {
		if !strings.Contains(end, want) {
			t.Errorf("the progress view lacks %q:\n%s", want, end)
		}
	}
	if after := pdPools(t, env.URI); after != before {
		t.Errorf("pools changed by the refused netfs pool:\n%s\n%s", before, after)
	}
}
