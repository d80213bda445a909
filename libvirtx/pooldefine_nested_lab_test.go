package libvirtx_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
)

// Pool define on the nested hypervisor (real iscsiadm logins and LVM):
// iscsi, logical on a new VG and on an existing one, and disk, on a tgtd
// target of this test's own (tid 130-139, files under the lab directory).

// pdTarget makes a tgtd target with luns file-backed LUNs of 64 MiB,
// open to every initiator, removed (with its files) when the test ends.
func pdTarget(t *testing.T, env lab.Env, luns int) string {
	t.Helper()
	tgt := func(args ...string) ([]byte, error) {
		return exec.Command("tgtadm", append([]string{"--lld", "iscsi"}, args...)...).CombinedOutput()
	}
	dir := pdDir(t, env, pdName("tgt"))
	iqn := fmt.Sprintf("iqn.2026-11.lab.stowage:t-pd-%d", time.Now().UnixNano()%1e9)
	tid := ""
	for n := 130; n <= 139 && tid == ""; n++ {
		if _, err := tgt("--mode", "target", "--op", "new", "--tid", strconv.Itoa(n), "--targetname", iqn); err == nil {
			tid = strconv.Itoa(n)
		}
	}
	if tid == "" {
		lab.Unavailable(t, "no free tgtd tid in 130-139 (tgtadm --lld iscsi --mode target --op show)")
	}
	t.Cleanup(func() {
		if out, err := tgt("--mode", "target", "--op", "delete", "--force", "--tid", tid); err != nil {
			t.Errorf("remove target %s: %v: %s", tid, err, out)
		}
	})
	for l := 1; l <= luns; l++ {
		f := filepath.Join(dir, fmt.Sprintf("lun%d.img", l))
		if out, err := exec.Command("truncate", "-s", "64M", f).CombinedOutput(); err != nil {
			t.Fatalf("truncate: %v: %s", err, out)
		}
		if out, err := tgt("--mode", "logicalunit", "--op", "new", "--tid", tid, "--lun", strconv.Itoa(l), "--backing-store", f); err != nil {
			t.Fatalf("LUN %d: %v: %s", l, err, out)
		}
	}
	if out, err := tgt("--mode", "target", "--op", "bind", "--tid", tid, "-I", "ALL"); err != nil {
		t.Fatalf("bind: %v: %s", err, out)
	}
	return iqn
}

func pdPoolNames(t *testing.T, c *libvirtx.Conn) []string {
	t.Helper()
	ps, err := c.Pools(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// This test's pools only: other tests use the nested host meanwhile.
	var out []string
	for _, p := range ps {
		if strings.HasPrefix(p.Name, "t-pd-") {
			out = append(out, p.Name+"/"+p.UUID)
		}
	}
	slices.Sort(out)
	return out
}

func pdVGs(t *testing.T, c *libvirtx.Conn) []string {
	t.Helper()
	vgs, err := c.VolumeGroups(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, vg := range vgs {
		if strings.HasPrefix(vg.Name, "t_pd_") {
			out = append(out, vg.Name)
		}
	}
	slices.Sort(out)
	return out
}

// pdDefineUndoThenKeep runs s failing right after its last step (the
// host must end as it began: same pools, same VGs), then for real.
func pdDefineUndoThenKeep(t *testing.T, c *libvirtx.Conn, s model.PoolSpec) {
	t.Helper()
	ctx := context.Background()
	pools, vgs := pdPoolNames(t, c), pdVGs(t, c)
	steps := model.DefinePlan(s)
	r := plan.Runner{FailAfter: steps[len(steps)-1].ID}
	if _, err := c.DefinePool(ctx, r, s, nil); err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("define %s failing after its last step: %v", s.Type, err)
	}
	if got := pdPoolNames(t, c); !slices.Equal(got, pools) {
		t.Fatalf("pools after the undo %v, were %v", got, pools)
	}
	if got := pdVGs(t, c); !slices.Equal(got, vgs) {
		t.Fatalf("volume groups after the undo %v, were %v", got, vgs)
	}
	if _, err := c.DefinePool(ctx, plan.Runner{}, s, nil); err != nil {
		t.Fatalf("define %s: %v", s.Type, err)
	}
	p, err := c.Pool(ctx, s.Name)
	if err != nil || !p.Active {
		t.Fatalf("pool %s after define: %+v, %v", s.Name, p, err)
	}
}

func TestNestedDefineISCSILogicalDisk(t *testing.T) {
	n := lab.NeedNested(t)
	ctx := context.Background()
	c := pdDial(t, n.URI)
	iqn := pdTarget(t, n.Env, 3)
	devsBefore, err := c.BlockDevices(ctx)
	if err != nil {
		t.Fatalf("block devices: %v", err)
	}

	// iscsi: the nested host's kernel initiator logs in on start.
	isc := model.PoolSpec{Type: "iscsi", Name: pdName("isc"), Portal: n.Portal, IQN: iqn}
	t.Cleanup(func() { c.PoolStop(ctx, isc.Name); c.PoolUndefine(ctx, isc.Name) })
	pdDefineUndoThenKeep(t, c, isc)
	luns, err := c.LUNs(ctx, isc.Name)
	if err != nil || len(luns) != 3 {
		t.Fatalf("LUNs of %s: %+v, %v", iqn, luns, err)
	}

	// Discovery: the logged-in LUNs appear among the host's block devices
	// (udev adds them to libvirt's node devices as they come).
	deadline := time.Now().Add(time.Minute)
	for {
		devs, err := c.BlockDevices(ctx)
		if err != nil {
			t.Fatalf("block devices: %v", err)
		}
		if len(devs) >= len(devsBefore)+3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("block devices after the login: %+v (before: %+v)", devs, devsBefore)
		}
		// Polling the host's state (udev on the nested host), not
		// synchronising with our own goroutines.
		time.Sleep(time.Second)
	}

	// logical, new VG on LUNs 1 and 2: the undo removes the VG it made.
	vg := fmt.Sprintf("t_pd_vg%d", time.Now().UnixNano()%1e9)
	lv := model.PoolSpec{Type: "logical", Name: pdName("lvm"), VG: vg, Devices: []string{luns[0].Path, luns[1].Path}}
	t.Cleanup(func() {
		c.PoolStop(ctx, lv.Name)
		c.PoolDeleteData(ctx, lv.Name)
		c.PoolUndefine(ctx, lv.Name)
	})
	pdDefineUndoThenKeep(t, c, lv)
	if !slices.Contains(pdVGs(t, c), vg) {
		t.Fatalf("VG %s not made", vg)
	}

	// logical on the existing VG: the undo never removes the VG.
	if err := c.PoolStop(ctx, lv.Name); err != nil {
		t.Fatal(err)
	}
	if err := c.PoolUndefine(ctx, lv.Name); err != nil {
		t.Fatal(err)
	}
	old := model.PoolSpec{Type: "logical", Name: pdName("lvo"), VG: vg}
	t.Cleanup(func() {
		c.PoolStop(ctx, old.Name)
		c.PoolDeleteData(ctx, old.Name)
		c.PoolUndefine(ctx, old.Name)
	})
	pdDefineUndoThenKeep(t, c, old)
	if !slices.Contains(pdVGs(t, c), vg) {
		t.Fatalf("the existing VG %s is gone", vg)
	}
	// A new VG of that name now is refused before anything changes.
	if _, err := c.DefinePool(ctx, plan.Runner{}, model.PoolSpec{Type: "logical", Name: pdName("lvx"), VG: vg, Devices: []string{luns[2].Path}}, nil); err == nil ||
		!libvirtx.IsRefusal(err) || !strings.Contains(err.Error(), "exists on this host") {
		t.Errorf("a new VG over an existing name: %v", err)
	}

	// disk on LUN 3 with a new gpt label; a second build refuses the
	// labelled disk (no overwrite) and the failed define leaves nothing.
	dk := model.PoolSpec{Type: "disk", Name: pdName("dsk"), Devices: []string{luns[2].Path}, Format: "gpt", Build: true}
	t.Cleanup(func() { c.PoolStop(ctx, dk.Name); c.PoolUndefine(ctx, dk.Name) })
	if _, err := c.DefinePool(ctx, plan.Runner{}, dk, nil); err != nil {
		t.Fatalf("define disk: %v", err)
	}
	if x, err := c.PoolXMLDesc(ctx, dk.Name); err != nil || !strings.Contains(x, "<format type='gpt'/>") {
		t.Errorf("disk pool XML: %v\n%s", err, x)
	}
	pools := pdPoolNames(t, c)
	again := dk
	again.Name = pdName("dsk2")
	if _, err := c.DefinePool(ctx, plan.Runner{}, again, nil); err == nil {
		t.Fatal("a second label on a labelled disk was written without --overwrite")
	} else {
		t.Logf("second build refused: %v", err)
	}
	if got := pdPoolNames(t, c); !slices.Equal(got, pools) {
		t.Errorf("pools after the refused build %v, were %v", got, pools)
	}
	if _, err := os.Stat(n.Dir); err != nil {
		t.Fatal(err)
	}
}
