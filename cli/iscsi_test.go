package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"stowage/cli/env"
	"stowage/iscsi"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
	"stowage/ui/common"
)

func TestISCSICommandUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := run([]string{"iscsi", "setup-lvm", "--uri", "qemu:///system", "--portal", "h", "--luns", "x"}, &out, &errb); rc != 1 ||
		!strings.Contains(errb.String(), `"x" is not a LUN number`) {
		t.Errorf("bad --luns: rc %d, %s", rc, errb.String())
	}
	errb.Reset()
	if rc := run([]string{"iscsi", "discover", "--uri", "qemu:///system", "--portal", "[::1"}, &out, &errb); rc != 1 ||
		!strings.Contains(errb.String(), "--portal") {
		t.Errorf("bad --portal: rc %d, %s", rc, errb.String())
	}
	errb.Reset()
	if rc := run([]string{"iscsi", "nope"}, &out, &errb); rc != 2 {
		t.Errorf("unknown subcommand: rc %d", rc)
	}
}

// setupLVMResult is what `stowage iscsi setup-lvm --json` prints.
type setupLVMResult struct {
	OK        bool
	ISCSIPool string `json:"iscsi_pool"`
	Steps     []iscsi.Step
	Error     string
}

// setupLVMCmd runs `stowage iscsi setup-lvm --json` on LUNs of target at
// portal, building VG vg and logical pool pool; it returns what it
// printed, its exit status and its stderr (the caller registers the
// teardown before judging them, so a half-done setup is undone too).
func setupLVMCmd(t *testing.T, uri, portal, target, luns, vg, pool string) (setupLVMResult, int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	rc := run([]string{"iscsi", "setup-lvm", "--uri", uri, "--portal", portal, "--target", target,
		"--luns", luns, "--vg", vg, "--pool", pool, "--json"}, &out, &errb)
	var res setupLVMResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("setup-lvm --json: %v\n%s\n%s", err, out.String(), errb.String())
	}
	return res, rc, errb.String()
}

// blank reports whether a LUN's backing file carries no signature.
func blank(file string) bool {
	err := exec.Command("blkid", "-p", file).Run()
	ee, ok := err.(*exec.ExitError)
	return ok && ee.ExitCode() == 2
}

// TestNestedSetupLVMCommand runs `stowage iscsi discover` and `stowage iscsi
// setup-lvm` against the nested hypervisor, checks the logical pool is
// active with the chosen LUNs as its PVs, creates a volume in it, and tears
// everything down to the state it found.
func TestNestedSetupLVMCommand(t *testing.T) {
	n := lab.NeedNested(t)
	ctx := context.Background()
	c, err := libvirtx.Dial(ctx, n.URI, libvirtx.Options{Timeout: 3 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for _, l := range []int{1, 2} {
		if !blank(n.San2LUNFile(l)) {
			t.Fatalf("%s holds data before the test (wipefs -a it)", n.San2LUNFile(l))
		}
	}
	before, err := c.Pools(ctx)
	if err != nil {
		t.Fatal(err)
	}

	var out, errb bytes.Buffer
	if rc := run([]string{"iscsi", "discover", "--uri", n.URI, "--portal", n.Portal, "--json"}, &out, &errb); rc != 0 {
		t.Fatalf("discover: rc %d: %s", rc, errb.String())
	}
	var disc struct{ Targets []model.ISCSITarget }
	if err := json.Unmarshal(out.Bytes(), &disc); err != nil || !slices.ContainsFunc(disc.Targets, func(x model.ISCSITarget) bool { return x.IQN == n.San2 }) {
		t.Fatalf("discover --json: %v\n%s", err, out.String())
	}

	stamp := time.Now().UnixNano() % 1e9
	pool, vg := "t-cli-"+itoa(stamp), "t_cli"+itoa(stamp)
	start := time.Now()
	res, rc, stderr := setupLVMCmd(t, n.URI, n.Portal, n.San2, "1,2", vg, pool)
	t.Cleanup(func() {
		if err := iscsi.Teardown(ctx, c, plan.Runner{}, pool, res.ISCSIPool); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	if rc != 0 || !res.OK {
		t.Fatalf("setup-lvm: rc %d, %s\n%s", rc, res.Error, stderr)
	}
	t.Logf("setup-lvm took %s, %d steps", time.Since(start).Round(time.Millisecond), len(res.Steps))

	p, err := c.Pool(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != model.PoolLogical || !p.Active || !p.Autostart || p.SourceName != vg || p.Capacity < 200<<20 {
		t.Fatalf("logical pool: %+v", p)
	}
	// The VG's PVs are exactly LUNs 1 and 2 of san2, as libvirt maps them.
	vgs, err := c.VolumeGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pvLUNs []int
	for _, g := range vgs {
		if g.Name != vg {
			continue
		}
		for _, dev := range g.Devices {
			ip, vol, err := c.VolumeByPath(ctx, dev)
			if err != nil || ip != res.ISCSIPool {
				t.Fatalf("PV %s is not a LUN of %s: %s %v", dev, res.ISCSIPool, ip, err)
			}
			l, _ := libvirtx.LUNNumber(vol)
			pvLUNs = append(pvLUNs, l)
		}
	}
	slices.Sort(pvLUNs)
	if !slices.Equal(pvLUNs, []int{1, 2}) {
		t.Fatalf("PVs of %s are LUNs %v, want [1 2] (VGs %+v)", vg, pvLUNs, vgs)
	}

	// The first encrypted drive in the new pool, as the wizard's summary
	// offers: a QEMU-layer LUKS LV made by `stowage drive create`.
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	out.Reset()
	errb.Reset()
	if rc := run([]string{"drive", "create", "--uri", n.URI, "--pool", pool, "--name", "t-drive",
		"--size", "32M", "--encryption", "luks", "--json"}, &out, &errb); rc != 0 {
		t.Fatalf("drive create in the new pool: rc %d\n%s", rc, errb.String())
	}
	var dr struct {
		Path       string `json:"path"`
		SecretUUID string `json:"secret_uuid"`
	}
	if err := json.Unmarshal(out.Bytes(), &dr); err != nil || dr.Path != "/dev/"+vg+"/t-drive" || dr.SecretUUID == "" {
		t.Fatalf("drive create --json: %v %+v\n%s", err, dr, out.String())
	}
	v, err := c.Volume(ctx, pool, "t-drive")
	if err != nil {
		t.Fatal(err)
	}
	if v.Capacity < 32<<20 || v.Encryption == nil || v.Encryption.Format != "luks" || v.Encryption.SecretUUID != dr.SecretUUID {
		t.Errorf("LUKS LV in the new pool: %+v (encryption %+v)", v, v.Encryption)
	}
	if rc := run([]string{"drive", "delete", "--uri", n.URI, "--pool", pool, "--name", "t-drive", "--confirm", "t-drive"}, &out, &errb); rc != 0 {
		t.Fatalf("drive delete: rc %d\n%s", rc, errb.String())
	}

	// Teardown leaves the host and the LUNs as they were.
	if err := iscsi.Teardown(ctx, c, plan.Runner{}, pool, res.ISCSIPool); err != nil {
		t.Fatal(err)
	}
	after, err := c.Pools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("pools after teardown: %+v, before: %+v", after, before)
	}
	vgs, _ = c.VolumeGroups(ctx)
	if slices.ContainsFunc(vgs, func(g model.VolumeGroup) bool { return g.Name == vg }) {
		t.Errorf("VG %s still exists after teardown", vg)
	}
	for _, l := range []int{1, 2} {
		if !blank(n.San2LUNFile(l)) {
			t.Errorf("LUN %d keeps a signature after teardown", l)
		}
	}
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	for n > 0 || i == len(b) {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

func TestLVMOnISCSIActionVanishesUnderReadonly(t *testing.T) {
	if lvmOnISCSIAction(&env.Env{ReadOnly: true}, nil, nil) != nil {
		t.Fatal("the LVM-on-iSCSI wizard is offered under --readonly")
	}
	e := &env.Env{Timeout: time.Second, Connector: env.NewConnector[*libvirtx.Conn](nil)}
	open := lvmOnISCSIAction(e, nil, nil)
	if open == nil || open(common.DriveTarget{HostURI: "qemu:///system"}) == nil {
		t.Fatal("no wizard without --readonly")
	}
}

// TestNestedSetupLVMCommandOverwriteToken: `setup-lvm` on a LUN holding a
// whole-disk ext4 (no partition table) refuses a token given in advance,
// prints what it found and the token bound to it, and builds only on a
// rerun with that token; a token for a LUN where nothing was found is
// refused too. Every refusal and change is in the audit log, with the user.
func TestNestedSetupLVMCommandOverwriteToken(t *testing.T) {
	n := lab.NeedNested(t)
	ctx := context.Background()
	c, err := libvirtx.Dial(ctx, n.URI, libvirtx.Options{Timeout: 3 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	file := n.San2LUNFile(3)
	if !blank(file) || !blank(n.San2LUNFile(1)) {
		t.Fatalf("%s or LUN 1 holds data before the test (wipefs -a it)", file)
	}
	// Restore the file's bytes afterwards: wipefs would leave the rest of
	// the file system, which the probe rightly reports as data.
	saved := filepath.Join(t.TempDir(), "lun.img")
	if out, err := exec.Command("cp", "--sparse=always", file, saved).CombinedOutput(); err != nil {
		t.Fatalf("save %s: %v: %s", file, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("cp", "--sparse=always", saved, file).CombinedOutput(); err != nil {
			t.Errorf("restore %s: %v: %s", file, err, out)
		}
	})
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", file).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	stamp := itoa(time.Now().UnixNano() % 1e9)
	pool, vg := "t-tok-"+stamp, "t_tok"+stamp
	setup := func(luns string, extra ...string) (int, map[string]any, string) {
		var out, errb bytes.Buffer
		rc := run(append([]string{"iscsi", "setup-lvm", "--uri", n.URI, "--portal", n.Portal, "--target", n.San2,
			"--luns", luns, "--vg", vg, "--pool", pool, "--json"}, extra...), &out, &errb)
		var res map[string]any
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("setup-lvm --json: %v\n%s\n%s", err, out.String(), errb.String())
		}
		return rc, res, fmt.Sprint(res["error"])
	}
	t.Cleanup(func() { iscsi.Teardown(ctx, c, plan.Runner{}, pool, pool+"-luns") })

	rc, res, msg := setup("3", "--confirm-overwrite", "wipe-0badc0de")
	if rc != 1 || res["refused"] != true || !strings.Contains(msg, "LUN 3: ext4 file system") || !strings.Contains(msg, "does not match") {
		t.Fatalf("token in advance: rc %d, %v", rc, msg)
	}
	token, _ := res["overwrite_token"].(string)
	if !strings.HasPrefix(token, "wipe-") || !strings.Contains(msg, "--confirm-overwrite "+token) {
		t.Fatalf("the refusal should print the token bound to what it found: %q / %v", token, msg)
	}
	if !strings.Contains(msg, "phase 1 stays in place") {
		t.Errorf("the refusal should say what stays: %v", msg)
	}
	rc, _, msg = setup("1", "--confirm-overwrite", token)
	if rc != 1 || !strings.Contains(msg, "found no signature") || !strings.Contains(msg, "LUN 1: no signature found in the first 128 KiB") {
		t.Fatalf("the token of LUN 3 on blank LUN 1: rc %d, %v", rc, msg)
	}
	if rc, _, msg = setup("3", "--confirm-overwrite", token); rc != 0 {
		t.Fatalf("with the bound token: rc %d, %v", rc, msg)
	}
	p, err := c.Pool(ctx, pool)
	if err != nil || !p.Active || p.SourceName != vg {
		t.Fatalf("logical pool after the confirmed build: %+v %v", p, err)
	}
	b, err := os.ReadFile(filepath.Join(state, "stowage", "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var refused, built int
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r plan.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.User == "" || r.Host != n.URI {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if r.Result == plan.ResultRefused && r.Action == "overwrite LUN data" {
			refused++
		}
		if r.Action == "build VG "+vg && r.Result == plan.ResultOK {
			built++
		}
	}
	if refused != 2 || built != 1 {
		t.Errorf("audit: %d overwrite refusals (want 2), %d builds (want 1):\n%s", refused, built, b)
	}
	if err := iscsi.Teardown(ctx, c, plan.Runner{}, pool, pool+"-luns"); err != nil {
		t.Fatal(err)
	}
	if !blank(file) {
		t.Error("LUN 3 keeps a signature after teardown")
	}
}
