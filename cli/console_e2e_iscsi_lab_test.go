package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"stowage/iscsi"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
	"stowage/ui/iscsiwizard"
)

// e2eTarget is an iSCSI target of this test's own on the lab's tgtd: one
// file-backed LUN behind CHAP, so the test shares no LUN with other tests
// that use the lab's san2/san3 targets at the same time.
type e2eTarget struct {
	tid             int
	iqn, user, file string
	chapSecret      string
}

func tgtadm(args ...string) ([]byte, error) {
	return exec.Command("tgtadm", append([]string{"--lld", "iscsi"}, args...)...).CombinedOutput()
}

// newE2ETarget makes the target, its LUN and its CHAP account; Cleanup
// removes all three.
func newE2ETarget(t *testing.T, n lab.Nested) *e2eTarget {
	t.Helper()
	st := e2eStamp()
	raw := make([]byte, 12)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	tg := &e2eTarget{iqn: "iqn.2026-11.lab.stowage:e2e-" + st, user: "e2e-" + st, chapSecret: hex.EncodeToString(raw),
		file: filepath.Join(t.TempDir(), "lun1.img")}
	if err := os.WriteFile(tg.file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(tg.file, 64<<20); err != nil {
		t.Fatal(err)
	}
	// A free target id: tgtd refuses one in use, so try the next.
	out, err := tgtadm("--mode", "target", "--op", "show")
	if err != nil {
		t.Fatalf("tgtadm show: %v\n%s", err, out)
	}
	used := map[int]bool{}
	for _, m := range regexp.MustCompile(`(?m)^Target (\d+):`).FindAllStringSubmatch(string(out), -1) {
		id, _ := strconv.Atoi(m[1])
		used[id] = true
	}
	for id := 100; id < 1000 && tg.tid == 0; id++ {
		if used[id] {
			continue
		}
		if _, err := tgtadm("--mode", "target", "--op", "new", "--tid", strconv.Itoa(id), "--targetname", tg.iqn); err == nil {
			tg.tid = id
		}
	}
	if tg.tid == 0 {
		t.Fatal("no free tgtd target id")
	}
	tid := strconv.Itoa(tg.tid)
	t.Cleanup(func() {
		if out, err := tgtadm("--mode", "target", "--op", "delete", "--force", "--tid", tid); err != nil {
			t.Errorf("remove target %s: %v\n%s", tg.iqn, err, out)
		}
		if out, err := tgtadm("--mode", "account", "--op", "delete", "--user", tg.user); err != nil {
			t.Errorf("remove CHAP account %s: %v\n%s", tg.user, err, out)
		}
	})
	for _, args := range [][]string{
		{"--mode", "logicalunit", "--op", "new", "--tid", tid, "--lun", "1", "--backing-store", tg.file},
		// tgtadm takes the password only as an argument: a throw-away
		// credential of this test's own target, as lab/up does for san3.
		{"--mode", "account", "--op", "new", "--user", tg.user, "--password", tg.chapSecret},
		{"--mode", "account", "--op", "bind", "--tid", tid, "--user", tg.user},
		{"--mode", "target", "--op", "bind", "--tid", tid, "--initiator-address", "ALL"},
	} {
		if out, err := tgtadm(args...); err != nil {
			t.Fatalf("tgtadm %s: %v\n%s", strings.Join(args[:4], " "), err, out)
		}
	}
	return tg
}

// TestConsoleLVMOnISCSIWizardOnNestedHost runs the LVM-on-iSCSI wizard from
// the console's hosts screen on the nested hypervisor: portal and CHAP
// typed (Enter moving from field to field), this test's target picked,
// its LUN picked, VG and pool named, built. The logical pool is active,
// autostarts, spans the LUN and has its VG; the CHAP secret is a libvirt
// secret of the nested host and is in no frame. Then everything the test
// made is torn down.
func TestConsoleLVMOnISCSIWizardOnNestedHost(t *testing.T) {
	n := lab.NeedNested(t)
	tg := newE2ETarget(t, n)
	ctx := context.Background()
	conn, err := libvirtx.Dial(ctx, n.URI, libvirtx.Options{Timeout: libvirtxTimeoutForE2E})
	if err != nil {
		t.Fatalf("dial the nested host: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	before, err := conn.Pools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := e2eStamp()
	vg, pool, iscsiPool := "vg_e2e"+st, "t-e2e-lvm-"+st, iscsi.ISCSIPoolNameFor(tg.iqn)
	// Whatever happens, the nested host ends without this test's pools,
	// VG and secret (Teardown skips what is not there).
	t.Cleanup(func() {
		if err := iscsi.Teardown(ctx, conn, plan.Runner{}, pool, iscsiPool); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})

	c := e2eOpen(t, []string{n.URI}, cfgNone)
	host, _, _ := strings.Cut(n.URI, "?")
	c.waitFor("the nested host connected", e2eGuard, func(s string) bool {
		return strings.Contains(s, "● "+n.URI) && !strings.Contains(s, "loading")
	})
	ik := iscsiwizard.DefaultKeyMap()
	c.press(c.km.Back)
	c.waitFor("the hosts screen offering the wizard", e2eGuard, func(s string) bool {
		first, _, _ := strings.Cut(s, "\n")
		return strings.HasSuffix(strings.TrimSpace(first), "hosts") && strings.Contains(s, c.km.LVMOnISCSI.Help().Desc)
	})
	c.press(c.km.LVMOnISCSI)
	c.waitText(e2eGuard, "LVM on iSCSI on "+host, "Portal:")
	// Field moves and typing are handled in the wizard's Update, in order:
	// no wait is needed between them.
	c.typ(n.Portal)
	c.press(ik.Field)
	c.typ(tg.user)
	c.press(ik.Next) // to the secret: the fix for typing into the wrong field
	c.typ(tg.chapSecret)
	c.waitFor("portal and CHAP user typed, the secret masked", e2eGuard, func(s string) bool {
		return strings.Contains(s, "Portal:      "+n.Portal) && strings.Contains(s, "CHAP user:   "+tg.user) &&
			strings.Contains(s, "CHAP secret: "+strings.Repeat("*", len(tg.chapSecret)))
	})
	c.press(ik.Next)
	screen := c.waitText(5*time.Minute, "Targets at ", tg.iqn)
	// Down to this test's target.
	cursor := regexp.MustCompile(`(?m)^> (\S+)`)
	for range 100 {
		m := cursor.FindStringSubmatch(screen)
		if m == nil {
			t.Fatalf("no target under the cursor:\n%s", screen)
		}
		if m[1] == tg.iqn {
			break
		}
		c.press(ik.Down)
		prev := m[1]
		screen = c.waitFor("the cursor to move", e2eGuard, func(s string) bool {
			m := cursor.FindStringSubmatch(s)
			return m != nil && m[1] != prev
		})
	}
	c.press(ik.Next)
	// The nested host logs in (iscsid under TCG: slow) and lists the LUN.
	screen = c.waitFor("the target's LUNs", 10*time.Minute, func(s string) bool {
		return strings.Contains(s, "LUNs of the target") || wizardFailed(s)
	})
	if !strings.Contains(screen, "LUNs of the target") {
		t.Fatalf("login failed:\n%s", screen)
	}
	c.press(ik.Toggle)
	c.waitText(e2eGuard, "[x] 1")
	c.press(ik.Next)
	c.waitText(e2eGuard, "A VG on LUN 1", "VG name:")
	c.typ(vg)
	c.press(ik.Next) // Enter in the VG name goes to the pool name
	c.typ(pool)
	screen = c.waitText(e2eGuard, "Pool name:   "+pool)
	if !strings.Contains(screen, "VG name:     "+vg) || strings.Contains(screen, vg+pool) {
		t.Fatalf("VG and pool names are not each in their own field:\n%s", screen)
	}
	c.press(ik.Next)
	screen = c.waitFor("the build's end", 15*time.Minute, func(s string) bool {
		return strings.Contains(s, "Pool "+pool+" is active") || wizardFailed(s)
	})
	if !strings.Contains(screen, "Pool "+pool+" is active and autostarts") {
		t.Fatalf("the build failed:\n%s", screen)
	}

	p, err := conn.Pool(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != model.PoolLogical || !p.Active || !p.Autostart || p.SourceName != vg || p.Capacity < 48<<20 {
		t.Fatalf("logical pool %s: %+v", pool, p)
	}
	vgs, err := conn.VolumeGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(vgs, func(g model.VolumeGroup) bool { return g.Name == vg && len(g.Devices) == 1 }) {
		t.Fatalf("VG %s on one PV not found: %+v", vg, vgs)
	}
	if ok, err := conn.CHAPSecretExists(ctx, iscsi.SecretUsage(iscsiPool)); err != nil || !ok {
		t.Fatalf("the CHAP secret of %s is not a libvirt secret on the nested host (%v)", iscsiPool, err)
	}
	// The console offers the new pool's first drive: the wizard's create
	// binding opens the drive wizard on that pool; cancelling it comes back.
	if !strings.Contains(screen, "create its first encrypted drive") {
		t.Fatalf("the built wizard does not offer the first drive:\n%s", screen)
	}
	c.press(ik.CreateDrive)
	c.waitFor("the drive wizard on the new pool", e2eGuard, func(s string) bool {
		return strings.Contains(s, "Create a drive on") && huhFocused(s, "Pool") && huhSelected(s, pool)
	})
	c.press(c.km.Form.Cancel)
	c.waitText(e2eGuard, "Pool "+pool+" is active and autostarts")
	// Closing the wizard shows the new pools in the console at once.
	c.press(ik.Back)
	c.waitFor("the hosts screen again", e2eGuard, func(s string) bool {
		first, _, _ := strings.Cut(s, "\n")
		return strings.HasSuffix(strings.TrimSpace(first), "hosts")
	})
	c.press(c.km.Pools)
	c.waitText(e2eGuard, pool, iscsiPool)

	c.assertNoSecrets(lab.NewSecret("the CHAP secret typed into the wizard", []byte(tg.chapSecret)))

	if err := iscsi.Teardown(ctx, conn, plan.Runner{}, pool, iscsiPool); err != nil {
		t.Fatalf("teardown: %v", err)
	}
	after, err := conn.Pools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := func(ps []model.Pool) []string {
		var out []string
		for _, p := range ps {
			if p.Name == pool || p.Name == iscsiPool {
				out = append(out, p.Name)
			}
		}
		return out
	}
	if left := names(after); len(left) > 0 || len(names(before)) > 0 {
		t.Errorf("pools left after teardown: %v", left)
	}
	if ok, _ := conn.CHAPSecretExists(ctx, iscsi.SecretUsage(iscsiPool)); ok {
		t.Error("the CHAP secret is left after teardown")
	}
}

// wizardFailed: the wizard shows an error and runs nothing (a rollback
// has ended too). Both lines start the line; steps are indented.
func wizardFailed(s string) bool {
	return regexp.MustCompile(`(?m)^✗ `).MatchString(s) && !regexp.MustCompile(`(?m)^… `).MatchString(s)
}
