package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
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
)

// tdTarget is a tgt target of the teardown tests (tid 140-149), with its
// own LUN files and CHAP account, all removed when the test ends.
type tdTarget struct {
	tid, iqn, user string
	secret         []byte
	secretFile     string
	files          []string
}

func newTDTarget(t *testing.T, luns int) *tdTarget {
	t.Helper()
	stamp := strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	dir := filepath.Join("/var/tmp/stowage-lab/t-td-", stamp)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	raw := make([]byte, 12)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	tg := &tdTarget{iqn: "iqn.2026-11.lab.stowage:t-td-" + stamp, user: "t-td-" + stamp,
		secret: []byte(hex.EncodeToString(raw)), secretFile: filepath.Join(dir, "chap")}
	if err := os.WriteFile(tg.secretFile, append(slices.Clone(tg.secret), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= luns; i++ {
		f := filepath.Join(dir, fmt.Sprintf("lun%d.img", i))
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(f, 64<<20); err != nil {
			t.Fatal(err)
		}
		tg.files = append(tg.files, f)
	}
	for tid := 140; tid <= 149 && tg.tid == ""; tid++ {
		if _, err := tgtadm("--mode", "target", "--op", "new", "--tid", strconv.Itoa(tid), "--targetname", tg.iqn); err == nil {
			tg.tid = strconv.Itoa(tid)
		}
	}
	if tg.tid == "" {
		t.Fatal("tgtd has no free tid in 140-149")
	}
	t.Cleanup(func() {
		if out, err := tgtadm("--mode", "target", "--op", "delete", "--force", "--tid", tg.tid); err != nil {
			t.Errorf("remove target %s: %v\n%s", tg.iqn, err, out)
		}
		if out, err := tgtadm("--mode", "account", "--op", "delete", "--user", tg.user); err != nil {
			t.Errorf("remove CHAP account %s: %v\n%s", tg.user, err, out)
		}
	})
	args := [][]string{
		// tgtadm takes the password only as an argument: a throw-away
		// credential of this test's own target, as lab/up does for san3.
		{"--mode", "account", "--op", "new", "--user", tg.user, "--password", string(tg.secret)},
		{"--mode", "account", "--op", "bind", "--tid", tg.tid, "--user", tg.user},
		{"--mode", "target", "--op", "bind", "--tid", tg.tid, "--initiator-address", "ALL"},
	}
	for i, f := range tg.files {
		args = append(args, []string{"--mode", "logicalunit", "--op", "new", "--tid", tg.tid, "--lun", strconv.Itoa(i + 1), "--backing-store", f})
	}
	for _, a := range args {
		if out, err := tgtadm(a...); err != nil {
			t.Fatalf("tgtadm %s: %v\n%s", strings.Join(a[:4], " "), err, out)
		}
	}
	return tg
}

// tdState is what a refusal must leave as it was: this test's pools with
// UUID and state, its VG with its PVs, its CHAP secret, and the session.
func tdState(t *testing.T, n lab.Nested, c *libvirtx.Conn, tg *tdTarget, names ...string) string {
	t.Helper()
	ctx := context.Background()
	var lines []string
	ps, err := c.Pools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		lines = append(lines, fmt.Sprintf("pool %s %s %s active=%v", p.Name, p.Type, p.UUID, p.Active))
	}
	vgs, err := c.VolumeGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vgs {
		lines = append(lines, fmt.Sprintf("vg %s %v", v.Name, v.Devices))
	}
	ss, err := c.Secrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		lines = append(lines, fmt.Sprintf("secret %s %s", s.UUID, s.UsageID))
	}
	lines = slices.DeleteFunc(lines, func(l string) bool {
		return !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(l, n) })
	})
	if hasSession(t, n, tg) {
		lines = append(lines, "session "+tg.iqn)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func hasSession(t *testing.T, n lab.Nested, tg *tdTarget) bool {
	t.Helper()
	out, _ := onNested(t, n, "iscsiadm --mode session 2>&1 || true")
	return strings.Contains(out, tg.iqn)
}

// teardownCmd runs `stowage iscsi teardown --json` with args.
func teardownCmd(t *testing.T, args ...string) (teardownJSON, int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	rc := run(append([]string{"iscsi", "teardown", "--json"}, args...), &out, &errb)
	var res teardownJSON
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("teardown --json (rc %d): %v\n%s\n%s", rc, err, out.String(), errb.String())
	}
	return res, rc, errb.String()
}

// tdSetup builds LVM on LUNs 1,2 of tg with `stowage iscsi setup-lvm`
// (CHAP on), and registers a cleanup that removes whatever is left.
func tdSetup(t *testing.T, n lab.Nested, c *libvirtx.Conn, tg *tdTarget, vg, pool string) setupLVMResult {
	t.Helper()
	ctx := context.Background()
	var out, errb bytes.Buffer
	rc := run([]string{"iscsi", "setup-lvm", "--uri", n.URI, "--portal", n.Portal, "--target", tg.iqn,
		"--luns", "1,2", "--vg", vg, "--pool", pool, "--chap-user", tg.user, "--chap-secret-file", tg.secretFile, "--json"}, &out, &errb)
	var res setupLVMResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("setup-lvm --json: %v\n%s\n%s", err, out.String(), errb.String())
	}
	t.Cleanup(func() {
		// A connection of its own: the test's may have been cut (the
		// nested hypervisor is shared, and restarted when it dies).
		own, err := libvirtx.Dial(ctx, n.URI, libvirtx.Options{Timeout: 3 * time.Minute})
		if err != nil {
			t.Errorf("cleanup: dial the nested host: %v", err)
			return
		}
		defer own.Close()
		if err := iscsi.Teardown(ctx, own, plan.Runner{}, pool, res.ISCSIPool); err != nil {
			t.Errorf("cleanup teardown: %v", err)
		}
		// The login left open-iscsi's node record (a logout keeps it).
		onNested(t, n, "iscsiadm --mode node --op delete --targetname "+tg.iqn+" >/dev/null 2>&1 || true")
	})
	if rc != 0 || !res.OK {
		t.Fatalf("setup-lvm: rc %d, %s\n%s", rc, res.Error, errb.String())
	}
	return res
}

// tdLab is one teardown test's start: the nested host, a connection to
// it, a fresh state directory (its audit log), and a target of its own.
type tdLab struct {
	n     lab.Nested
	c     *libvirtx.Conn
	tg    *tdTarget
	state string
	stamp string
}

func newTDLab(t *testing.T) tdLab {
	t.Helper()
	n := lab.NeedNested(t)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	c, err := libvirtx.Dial(context.Background(), n.URI, libvirtx.Options{Timeout: 3 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return tdLab{n: n, c: c, tg: newTDTarget(t, 2), state: state, stamp: strconv.FormatInt(time.Now().UnixNano()%1e9, 10)}
}

// TestNestedISCSITeardownCommand: LVM on iSCSI built by stowage with a
// drive in it; the dry run lists everything and changes nothing; a VM
// defined (not running) on the nested host with a disk on the VG makes
// the teardown refuse, naming it, with nothing changed; a wrong
// confirmation is refused; once the VM is gone, `stowage iscsi teardown
// --confirm` removes the pools, the VG, the PV signatures, the session
// and the CHAP secret, and the audit log has every step and refusal.
func TestNestedISCSITeardownCommand(t *testing.T) {
	l := newTDLab(t)
	n, c, tg, state, stamp, ctx := l.n, l.c, l.tg, l.state, l.stamp, context.Background()
	secret := lab.NewSecret("CHAP secret", tg.secret)
	pool, vg := "t-td-"+stamp, "t_td"+stamp
	res := tdSetup(t, n, c, tg, vg, pool)
	usage := iscsi.SecretUsage(res.ISCSIPool)
	names := []string{pool, res.ISCSIPool, vg, usage}
	if _, ok, err := c.CHAPSecretUUID(ctx, usage); err != nil || !ok {
		t.Fatalf("setup made no CHAP secret %s: %v", usage, err)
	}

	var out, errb bytes.Buffer
	if rc := run([]string{"drive", "create", "--uri", n.URI, "--pool", pool, "--name", "t-td-drive",
		"--size", "16M", "--encryption", "none", "--timeout", "3m", "--json"}, &out, &errb); rc != 0 {
		t.Fatalf("drive create: rc %d\n%s", rc, errb.String())
	}
	base := []string{"--uri", n.URI, "--pool", pool}

	before := tdState(t, n, c, tg, names...)
	dry, rc, stderr := teardownCmd(t, append(base, "--dry-run")...)
	if rc != 0 || !dry.OK || dry.Preview == nil {
		t.Fatalf("dry run: rc %d %+v\n%s", rc, dry, stderr)
	}
	pv := *dry.Preview
	if pv.Logical == nil || pv.Logical.Name != pool || pv.ISCSI == nil || pv.ISCSI.Name != res.ISCSIPool || pv.VG != vg ||
		len(pv.PVs) != 2 || pv.SecretUsage != usage || len(pv.LVs) != 1 || pv.LVs[0].Name != "t-td-drive" || pv.LVs[0].Capacity < 16<<20 {
		t.Fatalf("preview: %+v", pv)
	}
	var items []string
	for _, it := range pv.Items {
		items = append(items, it.What+" | "+it.Command)
	}
	all := strings.Join(items, "\n")
	for _, want := range []string{"lvremove " + vg + "/t-td-drive", "virsh pool-delete " + pool, "pvremove ", "virsh pool-undefine " + pool,
		"virsh pool-destroy " + res.ISCSIPool, "virsh pool-undefine " + res.ISCSIPool, "virsh secret-undefine " + pv.SecretUUID} {
		if !strings.Contains(all, want) {
			t.Errorf("preview items lack %q:\n%s", want, all)
		}
	}
	if after := tdState(t, n, c, tg, names...); after != before {
		t.Fatalf("the dry run changed the host:\n%s\nbefore:\n%s", after, before)
	}

	// A VM defined on the nested host, not running, with a disk on the VG.
	vm := "t-td-vm-" + stamp
	domXML := fmt.Sprintf(`<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os>`+
		`<devices><disk type='block' device='disk'><source dev='/dev/%s/t-td-drive'/><target dev='vda' bus='virtio'/></disk></devices></domain>`, vm, vg)
	if _, err := onNested(t, n, "cat > /tmp/"+vm+".xml <<'EOF'\n"+domXML+"\nEOF\nvirsh define /tmp/"+vm+".xml && rm /tmp/"+vm+".xml"); err != nil {
		t.Fatal(err)
	}
	undefined := false
	undefine := func() {
		if !undefined {
			undefined = true
			if _, err := onNested(t, n, "virsh undefine "+vm); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(undefine)
	ref, rc, _ := teardownCmd(t, append(base, "--confirm", pool)...)
	if rc != 1 || ref.OK || !ref.Refused || !strings.Contains(ref.Error, "VM "+vm+" (shut off) disk vda") {
		t.Fatalf("with a VM on the VG: want a refusal naming %s, got rc %d %+v", vm, rc, ref)
	}
	if after := tdState(t, n, c, tg, names...); after != before {
		t.Fatalf("the refused teardown changed the host:\n%s\nbefore:\n%s", after, before)
	}
	undefine()

	wrong, rc, _ := teardownCmd(t, append(base, "--confirm", pool+"-x")...)
	if rc != 1 || !wrong.Refused || !strings.Contains(wrong.Error, "type the pool name \""+pool+"\"") {
		t.Fatalf("wrong confirmation: rc %d %+v", rc, wrong)
	}
	if after := tdState(t, n, c, tg, names...); after != before {
		t.Fatalf("a wrong confirmation changed the host:\n%s\nbefore:\n%s", after, before)
	}

	done, rc, stderr := teardownCmd(t, append(base, "--confirm", pool)...)
	if rc != 0 || !done.OK {
		t.Fatalf("teardown: rc %d %+v\n%s", rc, done, stderr)
	}
	secret.AssertAbsent(t, "teardown output", []byte(stderr))
	if after := tdState(t, n, c, tg, names...); after != "" {
		t.Fatalf("left after the teardown:\n%s", after)
	}
	for i, f := range tg.files {
		if !blank(f) {
			t.Errorf("LUN %d (%s) keeps a signature after the teardown", i+1, f)
		}
	}
	audit, err := os.ReadFile(filepath.Join(state, "stowage", "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	secret.AssertAbsent(t, "audit log", audit)
	for _, want := range []string{`"action":"delete VG ` + vg + `"`, `"action":"undefine logical pool"`, `"action":"undefine iscsi pool"`,
		`"action":"stop iscsi pool"`, `"action":"remove CHAP secret"`, `"result":"refused"`} {
		if !bytes.Contains(audit, []byte(want)) {
			t.Errorf("audit log lacks %s", want)
		}
	}
	if !regexp.MustCompile(`"result":"refused"[^\n]*`+vm).Match(audit) && !regexp.MustCompile(vm+`[^\n]*"result":"refused"`).Match(audit) {
		t.Errorf("the refusal naming %s is not in the audit log:\n%s", vm, audit)
	}
}

// TestNestedISCSITeardownSecondAdmin: between the preview and the
// confirmation a second admin undefines the iscsi pool with virsh and
// defines one of the same name again: the run removes the logical pool
// and its VG, leaves their iscsi pool (and the CHAP secret with it)
// alone, and says so.
func TestNestedISCSITeardownSecondAdmin(t *testing.T) {
	l := newTDLab(t)
	n, c, tg, stamp, ctx := l.n, l.c, l.tg, l.stamp, context.Background()
	pool, vg := "t-td-sa-"+stamp, "t_tdsa"+stamp
	res := tdSetup(t, n, c, tg, vg, pool)
	r := plan.Runner{Host: n.URI, Audit: plan.NewAudit(filepath.Join(t.TempDir(), "audit.jsonl"))}
	pv, err := iscsi.PreviewTeardown(ctx, c, r, nil, pool, "")
	if err != nil {
		t.Fatal(err)
	}
	ip := res.ISCSIPool
	// The second admin's iscsi pool: same name, source and CHAP, new UUID.
	src, err := c.PoolSourceOf(ctx, ip)
	if err != nil {
		t.Fatal(err)
	}
	spec := model.ISCSIPoolSpec{Name: ip, Host: strings.Split(src.Hosts[0], ":")[0], Target: src.Devices[0], CHAPUser: src.AuthUser, CHAPUsage: src.AuthUsage}
	if p, err := strconv.Atoi(strings.Split(src.Hosts[0], ":")[1]); err == nil {
		spec.Port = p
	}
	if _, err := onNested(t, n, "virsh pool-destroy "+ip+" && virsh pool-undefine "+ip); err != nil {
		t.Fatal(err)
	}
	doc, err := libvirtx.ISCSIPoolXML(spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onNested(t, n, "cat > /tmp/"+ip+".xml <<'EOF'\n"+doc+"\nEOF\nvirsh pool-define /tmp/"+ip+".xml && rm /tmp/"+ip+".xml && virsh pool-start "+ip+
		" && udevadm settle && pvscan --cache >/dev/null"); err != nil {
		t.Fatal(err)
	}
	theirs, ok, err := c.PoolUUID(ctx, ip)
	if err != nil || !ok || theirs == pv.ISCSI.UUID {
		t.Fatalf("the second admin's pool: %q %v %v (previewed %s)", theirs, ok, err, pv.ISCSI.UUID)
	}
	out, err := iscsi.RunTeardown(ctx, c, r, nil, pv, pool, nil)
	if err != nil {
		t.Fatalf("teardown: %v\nsteps: %+v", err, out.Steps)
	}
	if len(out.LeftAlone) != 1 || !strings.Contains(out.LeftAlone[0], "pool "+ip+" now has UUID "+theirs) || !strings.Contains(out.LeftAlone[0], "left alone") {
		t.Errorf("the result should say their pool was left alone: %+v", out.LeftAlone)
	}
	if u, ok, _ := c.PoolUUID(ctx, ip); !ok || u != theirs {
		t.Fatalf("their iscsi pool %s is gone or changed (%q)", ip, u)
	}
	if _, ok, _ := c.CHAPSecretUUID(ctx, src.AuthUsage); !ok {
		t.Errorf("the CHAP secret their pool names was removed")
	}
	if _, ok, _ := c.PoolUUID(ctx, pool); ok {
		t.Errorf("logical pool %s is still defined", pool)
	}
	vgs, _ := c.VolumeGroups(ctx)
	if slices.ContainsFunc(vgs, func(g model.VolumeGroup) bool { return g.Name == vg }) {
		t.Errorf("VG %s still exists", vg)
	}
	// Their pool goes at the end of the test (the cleanup's teardown
	// removes it by name, with the secret).
}
