package iscsi

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"stowage/model"
)

const san2 = "iqn.2026-11.lab.stowage:san2"

func request() Request {
	return Request{Portal: Portal{Host: "10.0.2.2", Port: 3260}, Target: san2, LUNs: []int{1, 2}, VG: "vgdata", Pool: "data"}
}

func TestSetupDoesEveryStepInOrder(t *testing.T) {
	f := newFake()
	var seen []Step
	s := NewSetup(f, request(), func(st Step) { seen = append(seen, st) })
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"PoolDefine data-luns", "PoolStart data-luns", "PoolAutostart data-luns true",
		"PoolDefine data", "PoolBuild data overwrite=false", "PoolDefine data", "PoolStart data", "PoolAutostart data true",
	}
	if got := f.mutations(); !slices.Equal(got, want) {
		t.Fatalf("calls:\n got %q\nwant %q", got, want)
	}
	if len(f.vgs) != 1 || f.vgs[0].Name != "vgdata" || !slices.Equal(f.vgs[0].Devices, []string{"/dev/sda", "/dev/sdb"}) {
		t.Errorf("VG after setup: %+v", f.vgs)
	}
	// The persistent logical pool names only its VG (see BuildVG).
	if x := f.pools["data"].xml; strings.Contains(x, "<device") || !strings.Contains(x, "<name>vgdata</name>") {
		t.Errorf("logical pool XML should name the VG and no device:\n%s", x)
	}
	for _, st := range s.Steps() {
		if st.Status != StepDone || st.Virsh == "" {
			t.Errorf("step %q: status %s, virsh %q", st.Title, st.Status, st.Virsh)
		}
	}
	if len(seen) != 2*len(s.Steps()) {
		t.Errorf("progress saw %d events for %d steps (want start and end of each)", len(seen), len(s.Steps()))
	}
}

func TestSetupRollsBackExactlyWhatItDid(t *testing.T) {
	f := newFake()
	f.fail["PoolStart data"] = errors.New("boom")
	req := request()
	req.CHAP = &CHAP{User: "u", Secret: Secret("0123456789abcdef")}
	err := NewSetup(f, req, nil).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Run: %v, want the start failure", err)
	}
	if len(f.pools) != 0 || len(f.vgs) != 0 || len(f.secrets) != 0 {
		t.Fatalf("left behind: pools %v, VGs %v, secrets %v", f.order, f.vgs, f.secrets)
	}
	undo := f.mutations()[slices.Index(f.mutations(), "PoolStart data")+1:]
	want := []string{"PoolDefine data", "PoolDeleteData data", "PoolUndefine data",
		"PoolStop data-luns", "PoolUndefine data-luns", "RemoveCHAPSecret stowage-chap-data-luns"}
	if !slices.Equal(undo, want) {
		t.Fatalf("rollback calls:\n got %q\nwant %q", undo, want)
	}
}

func TestSetupNeverTouchesWhatExisted(t *testing.T) {
	f := newFake()
	// A half-finished earlier run: the iscsi pool exists, is active, but
	// not autostarted; the logical pool was never defined.
	first := NewSetup(f, request(), nil)
	f.fail["PoolAutostart data-luns true"] = errors.New("interrupted")
	if _, err := first.ConnectTarget(context.Background()); err == nil {
		t.Fatal("want the injected failure")
	}
	delete(f.fail, "PoolAutostart data-luns true")
	f.calls = nil

	f.fail["PoolBuild data overwrite=false"] = errors.New("pvcreate failed")
	err := NewSetup(f, request(), nil).Run(context.Background())
	if err == nil {
		t.Fatal("want the build failure")
	}
	p, ok := f.pools["data-luns"]
	if !ok || !p.active {
		t.Fatalf("rollback removed or stopped the iscsi pool that existed before: %v", f.order)
	}
	if p.autostart {
		t.Error("rollback should have restored autostart off on the pre-existing iscsi pool")
	}
	for _, c := range f.mutations() {
		if c == "PoolDefine data-luns" || c == "PoolStop data-luns" || c == "PoolUndefine data-luns" {
			t.Errorf("touched the pre-existing iscsi pool: %s", c)
		}
	}
}

func TestSetupResumesOverHalfFinishedSetup(t *testing.T) {
	f := newFake()
	// A run that died after building (no rollback ran): VG and pool exist,
	// pool inactive and not autostarted.
	s := NewSetup(f, request(), nil)
	f.fail["PoolStart data"] = errors.New("killed")
	if _, err := s.ConnectTarget(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.BuildVG(context.Background()); err == nil {
		t.Fatal("want the injected failure")
	}
	delete(f.fail, "PoolStart data")
	f.calls = nil

	again := NewSetup(f, request(), nil)
	if err := again.Run(context.Background()); err != nil {
		t.Fatalf("resume: %v", err)
	}
	for _, c := range f.mutations() {
		if strings.HasPrefix(c, "PoolBuild") || c == "PoolDefine data-luns" {
			t.Errorf("resume redid a finished step: %s", c)
		}
	}
	if p := f.pools["data"]; p == nil || !p.active || !p.autostart {
		t.Fatalf("logical pool after resume: %+v", p)
	}
	existed := 0
	for _, st := range again.Steps() {
		if st.Status == StepExisted {
			existed++
		}
	}
	if existed < 3 {
		t.Errorf("resume should report the iscsi pool, logical pool and VG as existing; steps: %+v", again.Steps())
	}
}

func TestSetupRefusesLUNWithVGUnlessConfirmed(t *testing.T) {
	f := newFake()
	f.vgs = []model.VolumeGroup{{Name: "oldvg", Devices: []string{"/dev/sdb"}}}
	err := NewSetup(f, request(), nil).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `"oldvg"`) || !strings.Contains(err.Error(), "--confirm-overwrite oldvg") {
		t.Fatalf("want a refusal naming oldvg, got %v", err)
	}
	if len(f.pools) != 0 || len(f.vgs) != 1 {
		t.Fatalf("refusal must roll back and keep oldvg: pools %v, VGs %v", f.order, f.vgs)
	}
	for _, c := range f.mutations() {
		if strings.HasPrefix(c, "PoolBuild") {
			t.Fatalf("built despite the refusal: %q", f.mutations())
		}
	}

	req := request()
	req.ConfirmOverwrite = "wrong"
	if err := NewSetup(f, req, nil).Run(context.Background()); err == nil {
		t.Fatal("a wrong confirmation must not overwrite")
	}
	req.ConfirmOverwrite = "oldvg"
	f.vgs = nil // PoolBuild --overwrite replaces it; the fake models the new VG only
	f.vgs = []model.VolumeGroup{{Name: "oldvg", Devices: []string{"/dev/sdb"}}}
	f.calls = nil
	if err := NewSetup(f, req, nil).Run(context.Background()); err != nil {
		t.Fatalf("confirmed overwrite: %v", err)
	}
	if !slices.Contains(f.mutations(), "PoolBuild data overwrite=true") {
		t.Fatalf("confirmed overwrite should build with --overwrite: %q", f.mutations())
	}
}

func TestSetupRefusesLUNOfAnotherPool(t *testing.T) {
	f := newFake()
	s := NewSetup(f, request(), nil)
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	req := request()
	req.VG, req.Pool, req.ConfirmOverwrite = "vg2", "data2", "vgdata"
	err := NewSetup(f, req, nil).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `libvirt pool "data"`) {
		t.Fatalf("want a refusal naming pool data, got %v", err)
	}
	if p := f.pools["data"]; p == nil || !p.active {
		t.Fatal("the other pool must stay untouched")
	}
}

func TestSetupNoticesLUNRemovedOnTheSAN(t *testing.T) {
	f := newFake()
	s := NewSetup(f, request(), nil)
	luns, err := s.ConnectTarget(context.Background())
	if err != nil || len(luns) != 3 {
		t.Fatalf("ConnectTarget: %v %v", luns, err)
	}
	f.luns = slices.DeleteFunc(f.luns, func(l model.LUN) bool { return l.Number == 2 })
	err = s.BuildVG(context.Background())
	if err == nil || !strings.Contains(err.Error(), "LUN 2 is not (or no longer) on target") {
		t.Fatalf("want LUN 2 reported gone, got %v", err)
	}
	if err := s.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(f.pools) != 0 {
		t.Fatalf("rollback left pools %v", f.order)
	}
}

func TestSetupValidatesBeforeTouchingTheHost(t *testing.T) {
	for name, mut := range map[string]func(*Request){
		"bad target": func(r *Request) { r.Target = "iqn.bad" },
		"bad VG":     func(r *Request) { r.VG = "-x" },
		"bad pool":   func(r *Request) { r.Pool = "a/b"; r.ISCSIPool = "ok" },
		"no LUNs":    func(r *Request) { r.LUNs = nil },
		"empty CHAP": func(r *Request) { r.CHAP = &CHAP{User: "u"} },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake()
			r := request()
			mut(&r)
			if err := NewSetup(f, r, nil).Run(context.Background()); err == nil {
				t.Fatal("want a validation error")
			}
			if len(f.pools) != 0 {
				t.Fatalf("left pools %v", f.order)
			}
		})
	}
}

func TestTeardownRemovesVGAndPools(t *testing.T) {
	f := newFake()
	req := request()
	req.CHAP = &CHAP{User: "u", Secret: Secret("0123456789ab")}
	if err := NewSetup(f, req, nil).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := Teardown(context.Background(), f, "data", "data-luns"); err != nil {
		t.Fatal(err)
	}
	if len(f.pools) != 0 || len(f.vgs) != 0 || len(f.secrets) != 0 {
		t.Fatalf("left: pools %v VGs %v secrets %v", f.order, f.vgs, f.secrets)
	}
}
