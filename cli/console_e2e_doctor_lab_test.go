package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"stowage/lab"
	"stowage/plan"
)

// doctorBanner is the hosts screen's count of open findings.
var doctorBanner = regexp.MustCompile(`doctor: (\d+) open findings? \((\d+) critical\)`)

// filterToPool filters the pools screen to pool, which the test named
// uniquely, and waits until it is the selected row (stopped or not).
func (c *e2eConsole) filterToPool(pool string) {
	c.t.Helper()
	c.press(c.km.Filter)
	c.typ(pool)
	c.press(c.km.Enter)
	c.waitFor(pool+" selected", e2eGuard, func(s string) bool {
		m := poolDetail.FindStringSubmatch(s)
		return strings.Contains(s, "filter: "+pool) && m != nil && m[1] == pool
	})
}

// The doctor in the console, end to end on the lab: a second admin
// (virsh) stops a pool that a defined VM's disk names; the hosts screen's
// banner counts it, the diagnose key on the pool lists the finding with
// its evidence, and the fix, confirmed by typing the pool's name, starts
// the pool (virsh pool-info agrees) and is in the audit log.
func TestConsoleDoctorFixesAStoppedPool(t *testing.T) {
	env := lab.Need(t)
	id := "t-doc-con-" + e2eStamp()
	pool, vm := id, id+"-vm"
	dir, err := os.MkdirTemp("/var/tmp", id+".")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = e2eVirsh(t, env.URI, "undefine", vm)
		_, _ = e2eVirsh(t, env.URI, "pool-destroy", pool)
		_, _ = e2eVirsh(t, env.URI, "pool-undefine", pool)
		os.RemoveAll(dir)
	})
	e2eMustVirsh(t, env.URI, "pool-define-as", pool, "dir", "--target", dir)
	e2eMustVirsh(t, env.URI, "pool-start", pool)
	e2eMustVirsh(t, env.URI, "pool-autostart", pool)
	e2eMustVirsh(t, env.URI, "vol-create-as", pool, "a.raw", "16M")
	domXML := filepath.Join(t.TempDir(), "vm.xml")
	writeFile(t, domXML, fmt.Sprintf(`<domain type='kvm'><name>%s</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>
<disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='%s' volume='a.raw'/><target dev='vda' bus='virtio'/></disk>
</devices></domain>`, vm, pool))
	e2eMustVirsh(t, env.URI, "define", domXML)

	c := e2eOpen(t, []string{env.URI}, cfgNone)
	c.waitFor("the lab's pools, "+pool+" among them", e2eGuard, func(s string) bool {
		return strings.Contains(s, pool) && strings.Contains(s, "9.0.0") && !strings.Contains(s, "loading")
	})
	// The second admin stops the pool under the VM.
	e2eMustVirsh(t, env.URI, "pool-destroy", pool)

	// Diagnose the pool: the screen reads the host again first, so the
	// finding is there although the console read the pool active.
	c.filterToPool(pool)
	c.press(c.km.Diagnose)
	screen := c.waitText(e2eGuard, "Doctor: pool "+pool, "CRITICAL", "pool "+pool+" on "+env.URI,
		"Pool "+pool+" is inactive while VM "+vm, "evidence: virStoragePoolGetInfo("+pool+"): inactive")
	t.Logf("the findings screen:\n%s", screen)

	// The hosts screen's banner counts it (the diagnose's read is the
	// store's latest).
	c.press(c.km.Hosts)
	banner := c.waitFor("the doctor's banner", e2eGuard, func(s string) bool { return doctorBanner.MatchString(s) })
	m := doctorBanner.FindStringSubmatch(banner)
	open, _ := strconv.Atoi(m[1])
	critical, _ := strconv.Atoi(m[2])
	if open < 1 || critical < 1 {
		t.Fatalf("banner %q counts no critical finding with %s stopped under %s", m[0], pool, vm)
	}

	// Back to the pool's findings, and fix it: the target is typed first.
	c.press(c.km.Pools)
	c.filterToPool(pool)
	c.press(c.km.Diagnose)
	c.waitText(e2eGuard, "Doctor: pool "+pool, "is inactive while VM "+vm)
	c.press(c.offered(c.km.Fix.Help().Desc))
	c.waitText(e2eGuard, "Fix: start-pool "+pool, "Type the target to confirm")
	c.typ(pool + "x")
	c.press(c.km.Confirm.Confirm)
	c.waitText(e2eGuard, fmt.Sprintf("type %q exactly to confirm", pool))
	if out := e2eMustVirsh(t, env.URI, "pool-info", pool); !regexp.MustCompile(`State:\s+inactive`).MatchString(out) {
		t.Fatalf("a wrong confirmation changed the pool:\n%s", out)
	}
	c.tm.Send(e2eKey(t, "backspace")) // the stray x
	c.press(c.km.Confirm.Confirm)
	end := c.waitFor("the fix applied and the pool read again", e2eGuard, func(s string) bool {
		return strings.Contains(s, "fixed: start-pool "+pool) && !strings.Contains(s, "reading the host again") &&
			!strings.Contains(s, "is inactive while VM")
	})
	t.Logf("after the fix:\n%s", end)
	if out := e2eMustVirsh(t, env.URI, "pool-info", pool); !regexp.MustCompile(`State:\s+running`).MatchString(out) {
		t.Fatalf("virsh pool-info after the fix:\n%s", out)
	}
	if !auditHas(t, "doctor fix start-pool", pool, plan.ResultOK) {
		t.Fatalf("the fix is not in the audit log %s", plan.DefaultAuditPath())
	}
}
