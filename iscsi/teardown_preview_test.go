package iscsi

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"stowage/model"
	"stowage/plan"
)

// tdFake is the fake hypervisor with the logical pool's volumes (LVs).
type tdFake struct {
	*fakeHost
	lvs []model.Volume
}

func (f *tdFake) Volumes(_ context.Context, pool string) ([]model.Volume, error) {
	p, err := f.pool(pool)
	if err != nil || !p.active {
		return nil, errors.New("pool " + pool + " is not active")
	}
	return slices.Clone(f.lvs), nil
}

// setUp builds LVM on LUNs 1,2 (CHAP on) on a fresh fake, with one drive.
func setUp(t *testing.T) *tdFake {
	t.Helper()
	f := &tdFake{fakeHost: newFake(), lvs: []model.Volume{{Name: "web", Key: "/dev/vgdata/web", Path: "/dev/vgdata/web", Capacity: 1 << 30}}}
	req := request()
	req.CHAP = &CHAP{User: "u", Secret: Secret("0123456789abcdef")}
	if err := NewSetup(f.fakeHost, req, nil).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	return f
}

func auditRunner(t *testing.T) (plan.Runner, string) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	return plan.Runner{Host: "qemu:///system", Audit: plan.NewAudit(path)}, path
}

func TestTeardownPreviewListsEverythingAndChangesNothing(t *testing.T) {
	f := setUp(t)
	r, _ := auditRunner(t)
	for _, asked := range []string{"data", "data-luns"} {
		pv, err := PreviewTeardown(context.Background(), f, r, nil, asked, "")
		if err != nil {
			t.Fatalf("preview of %s: %v", asked, err)
		}
		if pv.ConfirmName() != "data" || pv.ISCSI == nil || pv.ISCSI.Name != "data-luns" || pv.VG != "vgdata" ||
			!slices.Equal(pv.PVs, []string{"/dev/sda", "/dev/sdb"}) || pv.SecretUsage != SecretUsage("data-luns") || pv.SecretUUID == "" {
			t.Fatalf("preview of %s: %+v", asked, pv)
		}
		text := pv.Text()
		for _, want := range []string{"drive web (LV vgdata/web, 1.0 GiB)", "lvremove vgdata/web", "virsh pool-destroy data\n",
			"virsh pool-delete data", "pvremove /dev/sda", "pvremove /dev/sdb", "virsh pool-undefine data\n",
			"virsh pool-destroy data-luns", "virsh pool-undefine data-luns", "virsh secret-undefine " + pv.SecretUUID} {
			if !strings.Contains(text, want) {
				t.Errorf("preview of %s lacks %q:\n%s", asked, want, text)
			}
		}
	}
	if m := f.mutations(); len(m) != 0 {
		t.Fatalf("the preview changed the host: %q", m)
	}
}

func TestTeardownRefusals(t *testing.T) {
	for _, tc := range []struct {
		name      string
		change    func(f *tdFake)
		pool, isc string
		want      string
	}{
		{"VM on the VG, not running", func(f *tdFake) {
			f.domains = []model.Domain{{Name: "web", State: "shut off", Disks: []model.Disk{{Target: "vda", Device: "disk", SourceType: "block", Source: "/dev/vgdata/web"}}}}
		}, "data", "", "VM web (shut off) disk vda → /dev/vgdata/web on this host"},
		{"VM on a LUN", func(f *tdFake) {
			f.domains = []model.Domain{{Name: "raw", State: "running", Disks: []model.Disk{{Target: "vdb", Device: "disk", SourceType: "volume", Pool: "data-luns", Volume: "unit:0:0:3"}}}}
		}, "data", "", "VM raw (running) disk vdb"},
		{"not the pair", func(f *tdFake) {
			f.pools["other"] = &fakePool{xml: strings.ReplaceAll(f.pools["data-luns"].xml, "data-luns", "other")}
			f.order = append(f.order, "other")
		}, "data", "other", "logical pool data is not built on iscsi pool other"},
		{"a dir pool", func(f *tdFake) {}, "default", "", `no pool named "default"`},
		{"logical pool stopped", func(f *tdFake) { f.pools["data"].active = false }, "data", "", "start it (virsh pool-start data)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setUp(t)
			tc.change(f)
			r, path := auditRunner(t)
			_, err := PreviewTeardown(context.Background(), f, r, nil, tc.pool, tc.isc)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want a refusal naming %q, got %v", tc.want, err)
			}
			if m := f.mutations(); len(m) != 0 {
				t.Fatalf("the refusal changed the host: %q", m)
			}
			if b, _ := os.ReadFile(path); !strings.Contains(string(b), `"result":"refused"`) {
				t.Errorf("refusal not audited:\n%s", b)
			}
		})
	}
}

func TestTeardownRefusesAVMOnAnotherHost(t *testing.T) {
	f := setUp(t)
	peer := &fakeHost{domains: []model.Domain{{Name: "db", State: "shut off", Disks: []model.Disk{{Target: "vdc", Device: "disk", SourceType: "block",
		Source: "/dev/disk/by-path/ip-10.0.2.2:3260-iscsi-iqn.2026-11.lab.stowage:san2-lun-3"}}}}}
	r, _ := auditRunner(t)
	_, err := PreviewTeardown(context.Background(), f, r, []OtherHost{{URI: "qemu+ssh://b/system", Host: peer}}, "data", "")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "VM db (shut off) disk vdc") || !strings.Contains(err.Error(), "qemu+ssh://b/system") {
		t.Fatalf("a VM on another host using a LUN: %v", err)
	}
	_, err = PreviewTeardown(context.Background(), f, r, []OtherHost{{URI: "qemu+ssh://c/system", Err: errors.New("down")}}, "data", "")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "cannot check") {
		t.Fatalf("an unreachable host: %v", err)
	}
}

func TestTeardownRunRemovesWhatThePreviewShowed(t *testing.T) {
	f := setUp(t)
	r, path := auditRunner(t)
	pv, err := PreviewTeardown(context.Background(), f, r, nil, "data", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RunTeardown(context.Background(), f, r, nil, pv, "dat", nil); !errors.Is(err, ErrNotConfirmed) || !errors.Is(err, ErrRefused) {
		t.Fatalf("a wrong confirmation: %v", err)
	}
	// A drive made after the preview refuses the run: it would go unseen.
	f.lvs = append(f.lvs, model.Volume{Name: "late", Key: "/dev/vgdata/late"})
	if _, err := RunTeardown(context.Background(), f, r, nil, pv, "data", nil); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "(late)") {
		t.Fatalf("a drive added after the preview: %v", err)
	}
	if m := f.mutations(); len(m) != 0 {
		t.Fatalf("refusals changed the host: %q", m)
	}
	f.lvs = f.lvs[:1]
	res, err := RunTeardown(context.Background(), f, r, nil, pv, "data", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.pools) != 0 || len(f.vgs) != 0 || len(f.secrets) != 0 || len(res.LeftAlone) != 0 {
		t.Fatalf("left: pools %v, VGs %v, secrets %v, alone %v", f.order, f.vgs, f.secrets, res.LeftAlone)
	}
	b, _ := os.ReadFile(path)
	for _, want := range []string{`"action":"delete VG vgdata"`, `"action":"undefine iscsi pool"`, `"action":"remove CHAP secret"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("audit lacks %s", want)
		}
	}
}

// Another admin replaced the iscsi pool (same name, new UUID) after the
// preview: the logical part goes, their pool and the secret stay, and the
// result says so. A replaced logical pool refuses the whole run.
func TestTeardownLeavesAReplacedPoolAlone(t *testing.T) {
	f := setUp(t)
	r, _ := auditRunner(t)
	pv, err := PreviewTeardown(context.Background(), f, r, nil, "data", "")
	if err != nil {
		t.Fatal(err)
	}
	f.pools["data-luns"].xml = strings.Replace(f.pools["data-luns"].xml, pv.ISCSI.UUID, "99999999-0000-0000-0000-000000000000", 1)
	res, err := RunTeardown(context.Background(), f, r, nil, pv, "data", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.pools["data-luns"]; !ok || len(f.secrets) != 1 {
		t.Fatalf("their pool or the secret went: pools %v secrets %v", f.order, f.secrets)
	}
	if _, ok := f.pools["data"]; ok {
		t.Error("the logical pool stayed")
	}
	if len(res.LeftAlone) != 1 || !strings.Contains(res.LeftAlone[0], "now has UUID 99999999") {
		t.Errorf("result: %+v", res.LeftAlone)
	}

	g := setUp(t)
	pv, err = PreviewTeardown(context.Background(), g, r, nil, "data", "")
	if err != nil {
		t.Fatal(err)
	}
	g.pools["data"].xml = strings.Replace(g.pools["data"].xml, pv.Logical.UUID, "99999999-0000-0000-0000-000000000001", 1)
	if _, err := RunTeardown(context.Background(), g, r, nil, pv, "data", nil); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "another admin replaced it") {
		t.Fatalf("a replaced logical pool: %v", err)
	}
	if m := g.mutations(); len(m) != 0 {
		t.Fatalf("the refusal changed the host: %q", m)
	}
}

// The VG extended onto another LUN after the preview: pool-delete would
// pvremove it too, so the run refuses.
func TestTeardownRefusesAVGThatMovedSinceThePreview(t *testing.T) {
	f := setUp(t)
	r, _ := auditRunner(t)
	pv, err := PreviewTeardown(context.Background(), f, r, nil, "data", "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pv.PVLUNs, []string{"unit:0:0:1", "unit:0:0:2"}) || pv.PVPool != "data-luns" {
		t.Fatalf("preview PV identities: %v on %q", pv.PVLUNs, pv.PVPool)
	}
	f.vgs[0].Devices = append(f.vgs[0].Devices, "/dev/sdc")
	_, err = RunTeardown(context.Background(), f, r, nil, pv, "data", nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "unit:0:0:3") {
		t.Fatalf("VG extended since the preview: %v", err)
	}
	if m := f.mutations(); len(m) != 0 {
		t.Fatalf("the refusal changed the host: %q", m)
	}
}

// Two VGs on one iscsi pool: tearing down one keeps the iscsi pool (no
// logout) and says so; an iscsi pool under a VG no pool is built on is
// refused on its own.
func TestTeardownKeepsAnISCSIPoolAnotherVGNeeds(t *testing.T) {
	f := setUp(t)
	f.vgs = append(f.vgs, model.VolumeGroup{Name: "theirs", Devices: []string{"/dev/sdc"}})
	r, _ := auditRunner(t)
	pv, err := PreviewTeardown(context.Background(), f, r, nil, "data", "")
	if err != nil {
		t.Fatal(err)
	}
	if pv.ISCSI != nil || len(pv.Kept) != 1 || !strings.Contains(pv.Kept[0], "VG theirs lies on its LUNs") {
		t.Fatalf("preview: iscsi %+v, kept %v", pv.ISCSI, pv.Kept)
	}
	if strings.Contains(pv.Text(), "virsh pool-destroy data-luns") {
		t.Errorf("the preview would log out:\n%s", pv.Text())
	}
	if _, err := RunTeardown(context.Background(), f, r, nil, pv, "data", nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.pools["data-luns"]; !ok {
		t.Fatal("the iscsi pool under VG theirs went")
	}
	_, err = PreviewTeardown(context.Background(), f, r, nil, "data-luns", "")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "vgchange -an theirs") {
		t.Fatalf("iscsi pool under a VG without a pool: %v", err)
	}
}

// A step that fails stops the run: what is left is named with the
// commands that remove it, in order, and the failure is audited.
func TestTeardownFailureNamesWhatIsLeft(t *testing.T) {
	f := setUp(t)
	r, path := auditRunner(t)
	pv, err := PreviewTeardown(context.Background(), f, r, nil, "data", "")
	if err != nil {
		t.Fatal(err)
	}
	f.fail["PoolUndefine data"] = errors.New("boom")
	_, err = RunTeardown(context.Background(), f, r, nil, pv, "data", nil)
	if err == nil || !strings.Contains(err.Error(), "boom") ||
		!strings.Contains(err.Error(), "left to do by hand: virsh pool-undefine data; virsh pool-destroy data-luns; virsh pool-undefine data-luns; virsh secret-undefine "+pv.SecretUUID) {
		t.Fatalf("a failed step: %v", err)
	}
	if _, ok := f.pools["data-luns"]; !ok {
		t.Error("the run went on after the failure")
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), `"action":"undefine logical pool"`) || !strings.Contains(string(b), `"result":"failed"`) {
		t.Errorf("the failure is not audited:\n%s", b)
	}
}
