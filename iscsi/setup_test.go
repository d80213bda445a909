package iscsi

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"stowage/model"
	"stowage/plan"
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
	ctx := context.Background()
	// Someone's iscsi pool for the same portal and target: active, not
	// autostarted.
	if _, err := f.DefineISCSIPool(ctx, model.ISCSIPoolSpec{Name: "data-luns", Host: "10.0.2.2", Port: 3260, Target: san2}); err != nil {
		t.Fatal(err)
	}
	f.PoolStart(ctx, "data-luns")
	f.calls = nil

	f.fail["PoolBuild data overwrite=false"] = errors.New("pvcreate failed")
	err := NewSetup(f, request(), nil).Run(ctx)
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
	ctx := context.Background()
	// A setup whose logical pool was stopped and lost its autostart
	// (a crash, an admin): VG and pools exist.
	if err := NewSetup(f, request(), nil).Run(ctx); err != nil {
		t.Fatal(err)
	}
	f.PoolStop(ctx, "data")
	f.PoolAutostart(ctx, "data", false)
	f.calls = nil

	again := NewSetup(f, request(), nil)
	if err := again.Run(ctx); err != nil {
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

// tokenIn returns the wipe- token an error names.
func tokenIn(t *testing.T, err error) string {
	t.Helper()
	m := regexp.MustCompile(`--confirm-overwrite (wipe-[0-9a-f]{8})`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("no token in %v", err)
	}
	return m[1]
}

func TestSetupRefusesLUNWithVGUnlessConfirmed(t *testing.T) {
	f := newFake()
	f.vgs = []model.VolumeGroup{{Name: "oldvg", Devices: []string{"/dev/sdb"}}}
	err := NewSetup(f, request(), nil).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "volume group (oldvg)") || !errors.Is(err, ErrRefused) {
		t.Fatalf("want a refusal naming oldvg, got %v", err)
	}
	if !strings.Contains(err.Error(), "phase 1 stays in place: iscsi pool data-luns") {
		t.Errorf("a refusal in phase 2 must say that phase 1 stays: %v", err)
	}
	if _, ok := f.pools["data-luns"]; !ok || len(f.pools) != 1 || len(f.vgs) != 1 {
		t.Fatalf("refusal must keep phase 1 and oldvg, and define nothing else: pools %v, VGs %v", f.order, f.vgs)
	}
	for _, c := range f.mutations() {
		if strings.HasPrefix(c, "PoolBuild") || c == "PoolDefine data" {
			t.Fatalf("changed phase 2 despite the refusal: %q", f.mutations())
		}
	}
	token := tokenIn(t, err)

	for _, wrong := range []string{"oldvg", "vgdata", "wipe-00000000"} {
		req := request()
		req.ConfirmOverwrite = wrong
		if err := NewSetup(f, req, nil).Run(context.Background()); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "does not match") {
			t.Fatalf("confirmation %q must be refused: %v", wrong, err)
		}
	}
	req := request()
	req.ConfirmOverwrite = token
	f.calls = nil
	if err := NewSetup(f, req, nil).Run(context.Background()); err != nil {
		t.Fatalf("confirmed overwrite: %v", err)
	}
	if !slices.Contains(f.mutations(), "PoolBuild data overwrite=true") {
		t.Fatalf("confirmed overwrite should build with --overwrite: %q", f.mutations())
	}
}

// ext4Head is the start of a disk holding a whole-disk ext4 file system:
// the superblock magic at 1024+56 and the extents feature.
func ext4Head() []byte {
	b := make([]byte, ProbeBytes)
	binary.LittleEndian.PutUint16(b[1080:], 0xEF53)
	binary.LittleEndian.PutUint32(b[1024+96:], 0x40)
	copy(b[1024+120:], "backups")
	return b
}

func TestSetupFindsFilesystemLibvirtCannotSee(t *testing.T) {
	f := newFake()
	f.heads["unit:0:0:2"] = ext4Head()
	err := NewSetup(f, request(), nil).Run(context.Background())
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "LUN 2: ext4 file system (label backups)") ||
		!strings.Contains(err.Error(), "LUN 1: no signature found in the first 128 KiB") {
		t.Fatalf("want a refusal naming the ext4 on LUN 2, got %v", err)
	}
	token := tokenIn(t, err)

	// The same token does not confirm another LUN set, nor other findings.
	req := request()
	req.LUNs, req.ConfirmOverwrite = []int{2, 3}, token
	if err := NewSetup(f, req, nil).Run(context.Background()); !errors.Is(err, ErrRefused) {
		t.Fatalf("a token for LUNs 1,2 confirmed LUNs 2,3: %v", err)
	}
	// Findings change between the check and the build: refused, and what
	// this run defined is undone.
	req = request()
	req.ConfirmOverwrite = token
	f.onCall = func(what string) {
		if what == "PoolDefine data" {
			f.heads["unit:0:0:1"] = []byte("XFSB")
		}
	}
	err = NewSetup(f, req, nil).Run(context.Background())
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "changed since it was checked") || !strings.Contains(err.Error(), "LUN 1: xfs file system") {
		t.Fatalf("want a refusal because LUN 1 changed, got %v", err)
	}
	if slices.ContainsFunc(f.mutations(), func(c string) bool { return strings.HasPrefix(c, "PoolBuild") }) {
		t.Fatalf("built after the findings changed: %q", f.mutations())
	}
	if _, ok := f.pools["data"]; ok {
		t.Fatal("the logical pool this run defined was left behind")
	}
}

func TestSetupRefusesTokenWhenNothingFound(t *testing.T) {
	f := newFake()
	req := request()
	req.ConfirmOverwrite = "wipe-12345678"
	err := NewSetup(f, req, nil).Run(context.Background())
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "found no signature") {
		t.Fatalf("a confirmation with nothing found must be refused: %v", err)
	}
}

func TestSetupRefusesLUNAVMUses(t *testing.T) {
	f := newFake()
	f.domains = []model.Domain{{Name: "db1", Disks: []model.Disk{{Target: "vdb", SourceType: "block", Source: "/dev/sdb"}}}}
	dir := t.TempDir()
	s := NewSetup(f, request(), nil)
	s.Runner = plan.Runner{Host: "qemu:///fake", Audit: plan.NewAudit(dir + "/audit.jsonl")}
	err := s.Run(context.Background())
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), `LUN 2 is disk vdb of VM "db1"`) {
		t.Fatalf("want a refusal naming db1, got %v", err)
	}
	recs := auditRecords(t, dir+"/audit.jsonl")
	if !slices.ContainsFunc(recs, func(r plan.Record) bool {
		return r.Result == plan.ResultRefused && strings.Contains(r.Error, "db1") && r.User != ""
	}) {
		t.Fatalf("the refusal is not in the audit log: %+v", recs)
	}
}

func auditRecords(t *testing.T, path string) []plan.Record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []plan.Record
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r plan.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

func TestSetupAuditsEveryMutationAndUndo(t *testing.T) {
	f := newFake()
	f.fail["PoolStart data"] = errors.New("boom")
	path := t.TempDir() + "/audit.jsonl"
	req := request()
	req.CHAP = &CHAP{User: "u", Secret: Secret("0123456789abcdef")}
	s := NewSetup(f, req, nil)
	s.Runner = plan.Runner{Host: "qemu:///fake", Audit: plan.NewAudit(path)}
	if err := s.Run(context.Background()); err == nil {
		t.Fatal("want the failure")
	}
	var got []string
	for _, r := range auditRecords(t, path) {
		got = append(got, r.Action+" "+r.Result)
	}
	want := []string{"define CHAP secret ok", "define iscsi pool ok", "start iscsi pool ok", "autostart iscsi pool ok",
		"define logical pool ok", "build VG vgdata ok", "redefine logical pool ok", "start logical pool failed",
		"undo build VG vgdata ok", "undo define logical pool ok",
		"undo start iscsi pool ok", "undo define iscsi pool ok", "undo define CHAP secret ok"}
	if !slices.Equal(got, want) {
		t.Fatalf("audit:\n got %q\nwant %q", got, want)
	}
}

// A second admin replaces the logical pool this run defined (same name,
// new UUID) before the run fails: the rollback leaves their pool alone.
func TestSetupUndoKeepsAPoolAnotherAdminReplaced(t *testing.T) {
	f := newFake()
	f.fail["PoolBuild data overwrite=false"] = errors.New("pvcreate failed")
	f.onCall = func(what string) {
		if what == "PoolBuild data overwrite=false" {
			f.pools["data"].xml = replaceUUID(f.pools["data"].xml)
		}
	}
	var steps []Step
	err := NewSetup(f, request(), func(st Step) { steps = append(steps, st) }).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "left alone") {
		t.Fatalf("want the failure with the other pool left alone, got %v", err)
	}
	if _, ok := f.pools["data"]; !ok {
		t.Fatal("the rollback removed the pool another admin put in place")
	}
	if !slices.ContainsFunc(steps, func(st Step) bool { return st.Status == StepKept }) {
		t.Errorf("no step reported as kept: %+v", steps)
	}
	if _, ok := f.pools["data-luns"]; ok {
		t.Error("phase 1 was not rolled back")
	}
}

func replaceUUID(doc string) string {
	return regexp.MustCompile(`<uuid>[^<]*</uuid>`).ReplaceAllString(doc, "<uuid>ffffffff-0000-0000-0000-000000000000</uuid>")
}

func TestSetupRefusesLUNOfAnotherPool(t *testing.T) {
	f := newFake()
	s := NewSetup(f, request(), nil)
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	req := request()
	req.VG, req.Pool = "vg2", "data2"
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
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "LUN 2 is not (or no longer) on target") {
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
	if err := Teardown(context.Background(), f, plan.Runner{}, "data", "data-luns"); err != nil {
		t.Fatal(err)
	}
	if len(f.pools) != 0 || len(f.vgs) != 0 || len(f.secrets) != 0 {
		t.Fatalf("left: pools %v VGs %v secrets %v", f.order, f.vgs, f.secrets)
	}
}
