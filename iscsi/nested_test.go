package iscsi_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
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

func poolNames(t *testing.T, c *libvirtx.Conn) []string {
	t.Helper()
	ps, err := c.Pools(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
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
	if err == nil || !strings.Contains(err.Error(), "--confirm-overwrite "+oldVG) {
		t.Fatalf("want a refusal naming %s, got %v", oldVG, err)
	}
	vgs, err := c.VolumeGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(vgs, func(v model.VolumeGroup) bool { return v.Name == oldVG }) {
		t.Fatalf("the refused setup destroyed %s: VGs now %+v", oldVG, vgs)
	}

	req.ConfirmOverwrite = oldVG
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
