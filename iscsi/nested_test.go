package iscsi_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"stowage/iscsi"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
)

// Integration tests on the nested hypervisor (lab/hypervisor), behind
// STOWAGE_NESTED=1: real iscsiadm logins, real LVM, the lab's tgtd as SAN.

func nested(t *testing.T) (lab.Nested, *libvirtx.Conn, iscsi.Portal) {
	t.Helper()
	n := lab.NeedNested(t)
	ctx := context.Background()
	c, err := libvirtx.Dial(ctx, n.URI, libvirtx.Options{Timeout: 3 * time.Minute})
	if err != nil {
		t.Fatalf("dial the nested host: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	p, err := iscsi.ParsePortal(n.Portal)
	if err != nil {
		t.Fatal(err)
	}
	return n, c, p
}

func unique(prefix string) string { return fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1e9) }

// requireBlank fails unless the LUN's backing file carries no signature
// (blkid -p exits 2 when it finds nothing).
func requireBlank(t *testing.T, file string) {
	t.Helper()
	out, err := exec.Command("blkid", "-p", file).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("%s is not blank (blkid -p: %v): %s; a previous run left data: wipefs -a %s", file, err, out, file)
	}
}

// poolNames lists the pools this file's tests name (other sessions' tests
// use the nested host at the same time; their pools are left out).
func poolNames(t *testing.T, c *libvirtx.Conn) []string {
	t.Helper()
	ps, err := c.Pools(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range ps {
		for _, prefix := range []string{"t-chap-", "t-old-", "t-new-", "t-gone-"} {
			if strings.HasPrefix(p.Name, prefix) {
				out = append(out, p.Name)
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestNestedDiscovery(t *testing.T) {
	n, c, p := nested(t)
	ts, err := iscsi.Discover(context.Background(), c, p)
	if err != nil {
		t.Fatal(err)
	}
	var iqns []string
	for _, tg := range ts {
		iqns = append(iqns, tg.IQN)
	}
	if !slices.Contains(iqns, n.San2) || !slices.Contains(iqns, n.San3) {
		t.Fatalf("discovery at %s found %v; want %s and %s", p, iqns, n.San2, n.San3)
	}
	wrong := iscsi.Portal{Host: p.Host, Port: 3999}
	_, err = iscsi.Discover(context.Background(), c, wrong)
	if err == nil || !strings.Contains(err.Error(), "no iSCSI target answers at 10.0.2.2:3999") {
		t.Fatalf("wrong portal: %v", err)
	}
}

func TestNestedCHAP(t *testing.T) {
	n, c, p := nested(t)
	ctx := context.Background()
	before := poolNames(t, c)
	secret, err := iscsi.ReadSecretFile(n.CHAPFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := unique("t-chap-")
	wrong := iscsi.NewSetup(c, iscsi.Request{Portal: p, Target: n.San3, ISCSIPool: pool,
		CHAP: &iscsi.CHAP{User: n.CHAPUser, Secret: iscsi.Secret("not-the-secret")}}, nil)
	_, err = wrong.ConnectTarget(ctx)
	if err == nil {
		t.Fatal("login with a wrong CHAP secret succeeded")
	}
	if strings.Contains(err.Error(), "not-the-secret") || strings.Contains(err.Error(), string(secret)) {
		t.Fatalf("the error shows a secret: %v", err)
	}
	if !strings.Contains(err.Error(), "wrong CHAP user or secret") {
		t.Errorf("wrong CHAP: want a CHAP hint, got %v", err)
	}
	if err := wrong.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := poolNames(t, c); !slices.Equal(got, before) {
		t.Fatalf("after rollback pools are %v, were %v", got, before)
	}
	if left, err := chapExists(c, iscsi.SecretUsage(pool)); err != nil || left {
		t.Fatalf("CHAP secret left after rollback (%v)", err)
	}

	right := iscsi.NewSetup(c, iscsi.Request{Portal: p, Target: n.San3, ISCSIPool: pool,
		CHAP: &iscsi.CHAP{User: n.CHAPUser, Secret: secret}}, nil)
	luns, err := right.ConnectTarget(ctx)
	if err != nil {
		right.Rollback(ctx)
		t.Fatalf("login with the right CHAP secret: %v", err)
	}
	if len(luns) != 1 || luns[0].Capacity != 64<<20 || !strings.HasPrefix(luns[0].Path, "/dev/disk/by-path/ip-10.0.2.2:3260-iscsi-"+n.San3) {
		t.Errorf("LUNs of %s: %+v", n.San3, luns)
	}
	if err := iscsi.Teardown(ctx, c, plan.Runner{}, "", pool); err != nil {
		t.Fatal(err)
	}
	if left, _ := chapExists(c, iscsi.SecretUsage(pool)); left {
		t.Error("Teardown left the CHAP secret")
	}
}

func TestNestedLUNWithVGRefusedUntilConfirmed(t *testing.T) {
	n, c, p := nested(t)
	ctx := context.Background()
	requireBlank(t, n.San2LUNFile(3))
	before := poolNames(t, c)
	// Someone else's VG on LUN 3: built, then its pool stopped and
	// undefined, so only the VG on the LUN remains.
	oldVG, oldPool := unique("t_old"), unique("t-old-")
	s := iscsi.NewSetup(c, iscsi.Request{Portal: p, Target: n.San2, LUNs: []int{3}, VG: oldVG, Pool: oldPool}, nil)
	if err := s.Run(ctx); err != nil {
		iscsi.Teardown(ctx, c, plan.Runner{}, "", ownISCSIPool(s))
		t.Fatal(err)
	}
	t.Cleanup(func() {
		iscsi.Teardown(ctx, c, plan.Runner{}, oldPool, s.ISCSIPool())
		requireBlank(t, n.San2LUNFile(3))
	})
	if err := c.PoolStop(ctx, oldPool); err != nil {
		t.Fatal(err)
	}
	if err := c.PoolUndefine(ctx, oldPool); err != nil {
		t.Fatal(err)
	}

	newVG, newPool := unique("t_new"), unique("t-new-")
	req := iscsi.Request{Portal: p, Target: n.San2, LUNs: []int{3}, VG: newVG, Pool: newPool}
	err := iscsi.NewSetup(c, req, nil).Run(ctx)
	if !errors.Is(err, iscsi.ErrRefused) || !strings.Contains(err.Error(), "volume group ("+oldVG+")") {
		t.Fatalf("want a refusal naming %s, got %v", oldVG, err)
	}
	token := tokenOf(t, err)
	vgs, err := c.VolumeGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(vgs, func(v model.VolumeGroup) bool { return v.Name == oldVG }) {
		t.Fatalf("the refused setup destroyed %s: VGs now %+v", oldVG, vgs)
	}

	req.ConfirmOverwrite = token
	s2 := iscsi.NewSetup(c, req, nil)
	if err := s2.Run(ctx); err != nil {
		t.Fatalf("confirmed overwrite: %v", err)
	}
	if err := iscsi.Teardown(ctx, c, plan.Runner{}, newPool, s2.ISCSIPool()); err != nil {
		t.Fatal(err)
	}
	if got := poolNames(t, c); !slices.Equal(got, before) {
		t.Fatalf("pools after teardown %v, were %v", got, before)
	}
	requireBlank(t, n.San2LUNFile(3))
}

func tgtadm(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("tgtadm", append([]string{"--lld", "iscsi"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("tgtadm %v: %v: %s", args, err, out)
	}
}

func TestNestedLUNRemovedMidWizard(t *testing.T) {
	n, c, p := nested(t)
	ctx := context.Background()
	requireBlank(t, n.San2LUNFile(1))
	before := poolNames(t, c)
	s := iscsi.NewSetup(c, iscsi.Request{Portal: p, Target: n.San2, VG: unique("t_gone"), Pool: unique("t-gone-")}, nil)
	luns, err := s.ConnectTarget(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(luns) < 2 {
		t.Fatalf("LUNs of %s: %+v", n.San2, luns)
	}
	// The admin picked LUNs 1 and 2; meanwhile the SAN admin deletes LUN 2.
	tgtadm(t, "--mode", "logicalunit", "--op", "delete", "--tid", n.San2TID, "--lun", "2")
	t.Cleanup(func() {
		tgtadm(t, "--mode", "logicalunit", "--op", "new", "--tid", n.San2TID, "--lun", "2", "--backing-store", n.San2LUNFile(2))
	})
	s.SetChoice([]int{1, 2}, unique("t_gone"), unique("t-gone-"), "")
	err = s.BuildVG(ctx)
	if err == nil || !strings.Contains(err.Error(), "LUN 2 ") {
		t.Fatalf("building a VG on a LUN deleted on the target: want an error naming LUN 2, got %v", err)
	}
	t.Logf("BuildVG after the LUN vanished: %v", err)
	if err := s.Rollback(ctx); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got := poolNames(t, c); !slices.Equal(got, before) {
		t.Fatalf("pools after rollback %v, were %v", got, before)
	}
	requireBlank(t, n.San2LUNFile(1))
	if _, err := os.Stat(n.San2LUNFile(2)); err != nil {
		t.Fatal(err)
	}
}

func chapExists(c *libvirtx.Conn, usage string) (bool, error) {
	_, ok, err := c.CHAPSecretUUID(context.Background(), usage)
	return ok, err
}

// tokenOf is the overwrite token a refusal names.
func tokenOf(t *testing.T, err error) string {
	t.Helper()
	m := regexp.MustCompile(`--confirm-overwrite (wipe-[0-9a-f]{8})`).FindStringSubmatch(fmt.Sprint(err))
	if m == nil {
		t.Fatalf("no overwrite token in %v", err)
	}
	return m[1]
}

// hostState is what a test compares before and after: pools (name, type,
// UUID, state), VGs and secrets whose names contain one of names (the
// run's unique pool and VG names; the iscsi pool and the CHAP usage derive
// from the pool's). Other sessions' tests use the nested host at the same
// time, so objects of other names are left out.
func hostState(t *testing.T, c *libvirtx.Conn, names ...string) string {
	t.Helper()
	ctx := context.Background()
	ps, err := c.Pools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range ps {
		u, _, _ := c.PoolUUID(ctx, p.Name)
		lines = append(lines, fmt.Sprintf("pool %s %s %s active=%v autostart=%v", p.Name, p.Type, u, p.Active, p.Autostart))
	}
	vgs, err := c.VolumeGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vgs {
		lines = append(lines, "vg "+v.Name)
	}
	ss, err := c.Secrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		lines = append(lines, fmt.Sprintf("secret %+v", s))
	}
	lines = slices.DeleteFunc(lines, func(l string) bool {
		return !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(l, n) })
	})
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestNestedRollbackAfterEachStep injects a failure right after each step
// of a fresh setup (Runner.FailAfter) and checks that the host ends exactly
// as it began: pools, VGs, secrets, and the LUN without a signature.
func TestNestedRollbackAfterEachStep(t *testing.T) {
	n, c, p := nested(t)
	secret, err := iscsi.ReadSecretFile(n.CHAPFile)
	if err != nil {
		t.Fatal(err)
	}
	audit := t.TempDir() + "/audit.jsonl"
	for _, chap := range []bool{false, true} {
		for _, step := range iscsi.SetupSteps(chap) {
			if chap && step != iscsi.StepDefineSecret && step != iscsi.StepDefineISCSIPool {
				continue // the CHAP run adds one step; the rest are the same
			}
			t.Run(fmt.Sprintf("chap=%v/%s", chap, step), func(t *testing.T) {
				ctx := context.Background()
				target, lun, file := n.San2, 1, n.San2LUNFile(1)
				req := iscsi.Request{Portal: p, Target: target, LUNs: []int{lun}, VG: unique("t_rb"), Pool: unique("t-rb-")}
				if chap {
					target, file = n.San3, filepath.Join(n.Dir, "luns", "san3-chap-lun1.img")
					req.Target, req.CHAP = target, &iscsi.CHAP{User: n.CHAPUser, Secret: secret}
				}
				requireBlank(t, file)
				before := hostState(t, c, req.Pool, req.VG)
				s := iscsi.NewSetup(c, req, nil)
				s.Runner = plan.Runner{Host: n.URI, Audit: plan.NewAudit(audit), FailAfter: step}
				t.Cleanup(func() {
					if t.Failed() { // a refusal left phase 1: do not let it spoil the next case
						iscsi.Teardown(ctx, c, plan.Runner{}, req.Pool, ownISCSIPool(s))
					}
				})
				err := s.Run(ctx)
				if err == nil || !strings.Contains(err.Error(), "injected failure after "+string(step)) || strings.Contains(err.Error(), "rollback incomplete") {
					t.Fatalf("Run: %v", err)
				}
				undone := 0
				for _, st := range s.Steps() {
					if st.Status == iscsi.StepRolledBack {
						undone++
					}
				}
				if undone == 0 {
					t.Errorf("no step reported as undone: %+v", s.Steps())
				}
				if after := hostState(t, c, req.Pool, req.VG); after != before {
					t.Fatalf("host after the rollback:\n%s\nbefore:\n%s", after, before)
				}
				requireBlank(t, file)
			})
		}
	}
	b, err := os.ReadFile(audit)
	if err != nil || !strings.Contains(string(b), `"action":"undo build VG`) || !strings.Contains(string(b), `"action":"undo define CHAP secret"`) {
		t.Errorf("audit log lacks the undos (%v):\n%s", err, b)
	}
}

// interloper is the nested host with a second admin who acts through
// virsh right before one of stowage's calls.
type interloper struct {
	*libvirtx.Conn
	beforeDefine, beforeBuild func()
}

// DefineLogicalPool: the first definition (no UUID yet), not a
// redefinition of the pool stowage made.
func (i *interloper) DefineLogicalPool(ctx context.Context, spec model.LogicalPoolSpec) (string, error) {
	if i.beforeDefine != nil && spec.UUID == "" {
		i.beforeDefine()
	}
	return i.Conn.DefineLogicalPool(ctx, spec)
}

func (i *interloper) PoolIf(ctx context.Context, name string, act model.PoolAct, check func(string) error) error {
	if i.beforeBuild != nil && (act == model.PoolActBuild || act == model.PoolActBuildOverwrite) {
		i.beforeBuild()
	}
	return i.Conn.PoolIf(ctx, name, act, check)
}

// virsh runs virsh on the nested hypervisor itself, over ssh, as a second
// admin logged in there would (the outer machine's virsh cannot use the
// URI's known_hosts parameter).
func virsh(t *testing.T, n lab.Nested, args ...string) error {
	t.Helper()
	u, err := url.Parse(n.URI)
	if err != nil {
		return err
	}
	q := u.Query()
	ssh := []string{"-i", q.Get("keyfile"), "-p", u.Port(), "-o", "UserKnownHostsFile=" + q.Get("known_hosts"),
		"-o", "BatchMode=yes", u.User.Username() + "@" + u.Hostname(), "virsh"}
	out, err := exec.Command("ssh", append(ssh, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("virsh %v on the nested host: %v: %s", args, err, out)
	}
	return nil
}

// theirPool defines, as a second admin would with virsh, a dir pool called
// name on the nested host, removed when the test ends.
func theirPool(t *testing.T, n lab.Nested, name string) {
	t.Helper()
	if err := virsh(t, n, "pool-define-as", name, "dir", "--target", "/var/tmp/"+name); err != nil {
		t.Error(err)
	}
	t.Cleanup(func() { virsh(t, n, "pool-undefine", name) })
}

// A second admin defines a pool of the name stowage is about to define
// (after the preview checked it was free), or replaces the pool stowage
// just defined: the run fails and its rollback never removes their pool.
func TestNestedSecondAdminsPoolIsNeverUndone(t *testing.T) {
	n, c, p := nested(t)
	ctx := context.Background()
	requireBlank(t, n.San2LUNFile(2))
	for _, when := range []string{"before our define", "replacing ours before the build"} {
		t.Run(when, func(t *testing.T) {
			pool := unique("t-race-")
			vg := unique("t_race")
			before := hostState(t, c, pool, vg)
			h := &interloper{Conn: c}
			act := func() { theirPool(t, n, pool) }
			if when == "before our define" {
				h.beforeDefine = act
			} else {
				h.beforeBuild = func() {
					if err := virsh(t, n, "pool-undefine", pool); err != nil {
						t.Error(err)
					}
					act()
				}
			}
			req := iscsi.Request{Portal: p, Target: n.San2, LUNs: []int{2}, VG: vg, Pool: pool}
			s := iscsi.NewSetup(h, req, nil)
			err := s.Run(ctx)
			if err == nil {
				t.Fatal("the run succeeded over another admin's pool")
			}
			t.Logf("Run: %v", err)
			src, err2 := c.PoolSourceOf(ctx, pool)
			if err2 != nil || src.Type != model.PoolDir {
				t.Fatalf("their dir pool %s is gone or changed: %+v %v", pool, src, err2)
			}
			if when != "before our define" && !strings.Contains(err.Error(), "left alone") {
				t.Errorf("the rollback should say it left their pool alone: %v", err)
			}
			if err := virsh(t, n, "pool-undefine", pool); err != nil {
				t.Fatal(err)
			}
			if after := hostState(t, c, pool, vg); after != before {
				t.Fatalf("host after the run (their pool removed):\n%s\nbefore:\n%s", after, before)
			}
			requireBlank(t, n.San2LUNFile(2))
		})
	}
}

// mkfsOnLUN writes a whole-disk ext4 file system (no partition table) onto
// a LUN's backing file on the SAN side, and restores the file's bytes when
// the test ends (wipefs would leave the rest of the file system, which the
// probe rightly reports as unrecognised data).
func mkfsOnLUN(t *testing.T, file string) {
	t.Helper()
	requireBlank(t, file)
	saved := filepath.Join(t.TempDir(), "lun.img")
	if out, err := exec.Command("cp", "--sparse=always", file, saved).CombinedOutput(); err != nil {
		t.Fatalf("save %s: %v: %s", file, err, out)
	}
	t.Cleanup(func() {
		// cp truncates and rewrites in place: tgtd's open file stays the LUN.
		if out, err := exec.Command("cp", "--sparse=always", saved, file).CombinedOutput(); err != nil {
			t.Errorf("restore %s: %v: %s", file, err, out)
		}
	})
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-L", "backups", file).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4 %s: %v: %s", file, err, out)
	}
}

// A LUN holding a file system and no partition table: libvirt's probe sees
// nothing there; stowage's probe finds the ext4, refuses without the token
// bound to it, refuses a token given in advance, and builds with it.
func TestNestedFilesystemLUNNeedsTheBoundToken(t *testing.T) {
	n, c, p := nested(t)
	ctx := context.Background()
	file := n.San2LUNFile(3)
	mkfsOnLUN(t, file)
	vg, pool := unique("t_fs"), unique("t-fs-")
	before := hostState(t, c, pool, vg)
	req := iscsi.Request{Portal: p, Target: n.San2, LUNs: []int{3}, VG: vg, Pool: pool, ConfirmOverwrite: "wipe-0badc0de"}
	s := iscsi.NewSetup(c, req, nil)
	err := s.Run(ctx)
	t.Cleanup(func() { iscsi.Teardown(ctx, c, plan.Runner{}, pool, ownISCSIPool(s)) })
	if !errors.Is(err, iscsi.ErrRefused) || !strings.Contains(err.Error(), "LUN 3: ext4 file system") || !strings.Contains(err.Error(), "label backups") ||
		!strings.Contains(err.Error(), "does not match") {
		t.Fatalf("a token given in advance: want a refusal naming the ext4, got %v", err)
	}
	for _, l := range s.LUNs() {
		if l.Number == 3 && l.Content != "" {
			t.Logf("libvirt itself saw %q on LUN 3", l.Content)
		}
	}
	token := tokenOf(t, err)
	if out, _ := exec.Command("blkid", "-p", "-s", "TYPE", "-o", "value", file).Output(); strings.TrimSpace(string(out)) != "ext4" {
		t.Fatalf("the refused run changed the LUN: blkid says %q", out)
	}
	req.ConfirmOverwrite = token
	s2 := iscsi.NewSetup(c, req, nil)
	if err := s2.Run(ctx); err != nil {
		t.Fatalf("with the bound token: %v", err)
	}
	if err := iscsi.Teardown(ctx, c, plan.Runner{}, pool, ownISCSIPool(s)); err != nil {
		t.Fatal(err)
	}
	if after := hostState(t, c, pool, vg); after != before {
		t.Fatalf("host after teardown:\n%s\nbefore:\n%s", after, before)
	}
	requireBlank(t, file) // the build replaced the ext4; teardown left no PV label
}

// ownISCSIPool is the iscsi pool a setup defined, "" when it reused one
// (another test's, running at the same time on the shared nested host).
func ownISCSIPool(s *iscsi.Setup) string {
	if s.ISCSIPoolReused() {
		return ""
	}
	return s.ISCSIPool()
}
