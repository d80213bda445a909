package drive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"stowage/model"
)

// fixedRand yields a known byte pattern, so a test knows the passphrase.
type fixedRand byte

func (r fixedRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r) + byte(i)
	}
	return len(p), nil
}

func expectedPass(r fixedRand) []byte {
	p, _ := NewPassphrase(r)
	return p
}

func deps(f *fakeLibvirt, c *fakeCeph, audit *Audit) Deps {
	d := Deps{Libvirt: f, Host: "qemu:///test", Rand: fixedRand(7), Audit: audit}
	if c != nil {
		d.Ceph = func(context.Context, model.Pool) (Ceph, error) { return c, nil }
	}
	return d
}

func newCeph(f *fakeLibvirt) *fakeCeph {
	f.ceph = &fakeCeph{f: f, images: map[string]uint64{}, formats: map[string]string{}}
	return f.ceph
}

func collect(events chan Event) func() []Event {
	var out []Event
	done := make(chan struct{})
	go func() {
		for e := range events {
			out = append(out, e)
		}
		close(done)
	}()
	return func() []Event { close(events); <-done; return out }
}

func TestPrepareRefusals(t *testing.T) {
	f := newFake()
	audit := NewAudit(filepath.Join(t.TempDir(), "audit.jsonl"))
	d := deps(f, nil, audit)
	cases := []struct {
		spec model.DriveSpec
		msg  string
	}{
		{model.DriveSpec{Pool: "nope", Name: "x", Size: 1 << 20}, "does not exist"},
		{model.DriveSpec{Pool: "off", Name: "x", Size: 1 << 20}, "inactive"},
		{model.DriveSpec{Pool: "iscsi", Name: "x", Size: 1 << 20}, "LVM-on-iSCSI"},
		{model.DriveSpec{Pool: "dir", Name: "a/b", Size: 1 << 20}, "'/'"},
		{model.DriveSpec{Pool: "dir", Name: "taken", Size: 1 << 20}, "already exists"},
		{model.DriveSpec{Pool: "dir", Name: "x", Size: 0}, "zero"},
		{model.DriveSpec{Pool: "rbd", Name: "x", Size: 1 << 20, Format: "qcow2"}, "file pool"},
		{model.DriveSpec{Pool: "dir", Name: "x", Size: 1 << 20, Encryption: "luks2"}, "rbd pools only"},
		{model.DriveSpec{Pool: "dir", Name: "x", Size: 1 << 20, Cipher: "aes-256-xts-plain64"}, "QEMU-layer LUKS only"},
		{model.DriveSpec{Pool: "lvm", Name: "x", Size: 2 << 30}, "cannot over-commit"},
		{model.DriveSpec{Pool: "dir", Name: "x", Size: 1 << 20, AttachVM: "ghost"}, "does not exist"},
		{model.DriveSpec{Pool: "dir", Name: "x", Size: 1 << 20, AttachVM: "off", Attach: model.AttachMode{Live: true}}, "needs it running"},
		{model.DriveSpec{Pool: "rbd", Name: "x", Size: 1 << 20, Encryption: "luks2"}, "no way to reach Ceph"},
	}
	for _, c := range cases {
		_, err := Prepare(context.Background(), d, c.spec)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%+v: %v; want an error containing %q", c.spec, err, c.msg)
		}
	}
	if len(f.calls) != 0 {
		t.Errorf("Prepare mutated the host: %v", f.calls)
	}
	// Every refusal is in the audit log, with its reason.
	b, _ := os.ReadFile(audit.Path())
	if n := strings.Count(string(b), `"action":"create drive"`); n != len(cases) ||
		strings.Count(string(b), `"result":"refused"`) != len(cases) || !strings.Contains(string(b), "rbd pools only") {
		t.Errorf("%d create-drive records for %d refusals:\n%s", n, len(cases), b)
	}
}

func TestPrepareLibrbdHotplugNeedsChoice(t *testing.T) {
	f := newFake()
	d := deps(f, newCeph(f), nil)
	spec := model.DriveSpec{Pool: "rbd", Name: "x", Size: 1 << 30, Encryption: "luks2", AttachVM: "vm", Attach: model.AttachMode{Live: true, Persistent: true}}
	_, err := Prepare(context.Background(), d, spec)
	if !errors.Is(err, ErrNeedsChoice) || !strings.Contains(err.Error(), "next-start") || !strings.Contains(err.Error(), "LUKS1 only") {
		t.Fatalf("luks2 live on 9.0: %v; want ErrNeedsChoice naming next-start and why qemu is impossible", err)
	}
	spec.Encryption = "luks1"
	_, err = Prepare(context.Background(), d, spec)
	if !errors.Is(err, ErrNeedsChoice) || !strings.Contains(err.Error(), "-43%") {
		t.Fatalf("luks1 live on 9.0: %v; want the choice with the QEMU-layer cost", err)
	}
	spec.Fallback = model.FallbackQEMU
	p, err := Prepare(context.Background(), d, spec)
	if err != nil || p.LiveEngine != "qemu" || len(p.Warnings) == 0 {
		t.Fatalf("qemu fallback: %+v %v", p, err)
	}
	spec.Encryption, spec.Fallback = "luks2", model.FallbackNextStart
	p, err = Prepare(context.Background(), d, spec)
	if err != nil || p.Spec.Attach != (model.AttachMode{Persistent: true}) {
		t.Fatalf("next-start fallback: %+v %v", p.Spec.Attach, err)
	}
	f.version = "10.1.0"
	spec.Fallback = ""
	if _, err := Prepare(context.Background(), d, spec); err != nil {
		t.Errorf("libvirt 10.1 is tried live: %v", err)
	}
}

func TestCreateDirLUKSAndAttach(t *testing.T) {
	f := newFake()
	dir := t.TempDir()
	audit := NewAudit(filepath.Join(dir, "audit.jsonl"))
	d := deps(f, nil, audit)
	spec := model.DriveSpec{Pool: "dir", Name: "data", Size: 1 << 30, Encryption: "luks", Cipher: model.RecommendedCipher, AttachVM: "vm"}
	p, err := Prepare(context.Background(), d, spec)
	if err != nil {
		t.Fatal(err)
	}
	if p.Target != "vdb" || p.Spec.Attach != (model.AttachMode{Live: true, Persistent: true}) {
		t.Fatalf("target %s attach %+v; want vdb, live+persistent", p.Target, p.Spec.Attach)
	}
	events := make(chan Event, 64)
	got := collect(events)
	res, err := Create(context.Background(), d, p, events)
	evs := got()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"define-secret /p/data", "set-secret uuid-1", "create-volume dir/data",
		"attach vm vdb live=true persistent=true engine=qemu"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls:\n%v\nwant\n%v", f.calls, want)
	}
	if res.SecretUUID != "uuid-1" || res.Target != "vdb" || res.Path != "/p/data" {
		t.Errorf("result %+v", res)
	}
	pass := expectedPass(fixedRand(7))
	if !bytes.Equal(f.values["uuid-1"], pass) || len(pass) < 43 {
		t.Errorf("secret value not the generated passphrase")
	}
	var progressed bool
	for _, e := range evs {
		progressed = progressed || (e.Kind == StepProgress && e.Total == 1<<30)
		if strings.Contains(fmt.Sprintf("%+v", e), string(pass)) {
			t.Errorf("an event carries the passphrase")
		}
	}
	if !progressed || evs[len(evs)-1].Kind != Finished {
		t.Errorf("events lack progress or Finished: %+v", evs)
	}
	b, _ := os.ReadFile(audit.Path())
	if bytes.Contains(b, pass) || strings.Count(string(b), "\n") != 3 || !strings.Contains(string(b), `"action":"attach live+persistent"`) {
		t.Errorf("audit log:\n%s", b)
	}
}

// Every step fails in turn; everything done before it is undone in
// reverse, and the fake host ends as it began.
func TestRollbackAfterEachStep(t *testing.T) {
	specs := []model.DriveSpec{
		{Pool: "dir", Name: "data", Size: 1 << 30, Encryption: "luks", AttachVM: "vm"},
		{Pool: "rbd", Name: "img", Size: 1 << 30, Encryption: "luks2", AttachVM: "vm", Attach: model.AttachMode{Persistent: true}},
		{Pool: "rbd", Name: "img", Size: 1 << 30, Encryption: "luks1", AttachVM: "vm", Attach: model.AttachMode{Live: true, Persistent: true}, Fallback: model.FallbackQEMU},
	}
	for _, spec := range specs {
		for _, st := range model.CreatePlan(spec) {
			t.Run(spec.Name+"/"+string(spec.Encryption)+"/"+string(st.ID), func(t *testing.T) {
				f := newFake()
				c := newCeph(f)
				d := deps(f, c, nil)
				d.FailAfter = st.ID
				p, err := Prepare(context.Background(), d, spec)
				if err != nil {
					t.Fatal(err)
				}
				events := make(chan Event, 64)
				got := collect(events)
				_, err = Create(context.Background(), d, p, events)
				evs := got()
				if err == nil || !strings.Contains(err.Error(), "injected") || !strings.Contains(err.Error(), "nothing left") {
					t.Fatalf("err = %v", err)
				}
				if len(f.secrets) != 0 || len(c.images) != 0 || len(f.vols) != 1 || len(f.doms["vm"].live) != 1 || len(f.doms["vm"].cfg) != 1 {
					t.Errorf("left behind: secrets %v images %v vols %v live %v cfg %v", f.secrets, c.images, f.vols, f.doms["vm"].live, f.doms["vm"].cfg)
				}
				// Undo events come in reverse step order.
				var undone []int
				for _, e := range evs {
					if e.Kind == StepUndone {
						undone = append(undone, e.Index)
					}
				}
				if !slices.IsSortedFunc(undone, func(a, b int) int { return b - a }) {
					t.Errorf("undo order %v; want reverse", undone)
				}
			})
		}
	}
}

func TestRBDFallbackAttachesTwoEngines(t *testing.T) {
	f := newFake()
	c := newCeph(f)
	d := deps(f, c, nil)
	spec := model.DriveSpec{Pool: "rbd", Name: "img", Size: 1 << 30, Encryption: "luks1", AttachVM: "vm", Fallback: model.FallbackQEMU}
	p, err := Prepare(context.Background(), d, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Create(context.Background(), d, p, nil); err != nil {
		t.Fatal(err)
	}
	if c.images["cp/img"] != 1<<30+4<<20 || c.formats["cp/img"] != "luks1" {
		t.Errorf("image %v format %v", c.images, c.formats)
	}
	if !bytes.Equal(c.pass[0], expectedPass(fixedRand(7))) {
		t.Error("librbd got another passphrase than libvirt's secret")
	}
	want := []string{"attach vm vdb live=true persistent=false engine=qemu", "attach vm vdb live=false persistent=true engine=librbd"}
	var got []string
	for _, c := range f.calls {
		if strings.HasPrefix(c, "attach") {
			got = append(got, c)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("attach calls %v; want %v", got, want)
	}
}

func TestUndoFailureSaysWhatIsLeft(t *testing.T) {
	f := newFake()
	d := deps(f, nil, nil)
	d.FailAfter = model.StepCreateVolume
	p, err := Prepare(context.Background(), d, model.DriveSpec{Pool: "dir", Name: "data", Size: 1 << 20, Encryption: "luks"})
	if err != nil {
		t.Fatal(err)
	}
	f.failOn = "undefine-secret"
	res, err := Create(context.Background(), d, p, nil)
	if err == nil || !strings.Contains(err.Error(), "virsh secret-undefine uuid-1") || len(res.Leftovers) != 1 {
		t.Fatalf("err %v leftovers %+v; want the secret named with its virsh command", err, res.Leftovers)
	}
	if _, ok := f.vols["dir/data"]; ok {
		t.Error("volume not rolled back")
	}
}

func TestCancelRollsBack(t *testing.T) {
	f := newFake()
	d := deps(f, nil, nil)
	p, err := Prepare(context.Background(), d, model.DriveSpec{Pool: "dir", Name: "data", Size: 1 << 20, Encryption: "luks"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel once the volume step starts: the step finishes (libvirt
	// cannot abort it), then everything is undone.
	events := make(chan Event)
	go func() {
		for e := range events {
			if e.Kind == StepStarted && e.Step.ID == model.StepCreateVolume {
				cancel()
			}
		}
	}()
	_, err = Create(ctx, d, p, events)
	close(events)
	if !errors.Is(err, ErrCancelled) {
		t.Fatalf("err = %v; want ErrCancelled", err)
	}
	if len(f.secrets) != 0 || len(f.vols) != 1 {
		t.Errorf("left: %v %v", f.secrets, f.vols)
	}
}

func TestDeleteRefusesAttachedAndRemovesSecret(t *testing.T) {
	f := newFake()
	d := deps(f, nil, nil)
	p, err := Prepare(context.Background(), d, model.DriveSpec{Pool: "dir", Name: "data", Size: 1 << 20, Encryption: "luks", AttachVM: "vm"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Create(context.Background(), d, p, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Delete(context.Background(), d, "dir", "data", nil); err == nil || !strings.Contains(err.Error(), "running VM") {
		t.Fatalf("delete of an attached drive: %v", err)
	}
	if _, err := Detach(context.Background(), d, "vm", "vdb", model.AttachMode{Live: true, Persistent: true}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Delete(context.Background(), d, "dir", "data", nil); err != nil {
		t.Fatal(err)
	}
	if len(f.secrets) != 0 || len(f.vols) != 1 {
		t.Errorf("left: %v %v", f.secrets, f.vols)
	}
}

func TestLUKSVersion(t *testing.T) {
	if v := LUKSVersion([]byte("LUKS\xba\xbe\x00\x02rest")); v != 2 {
		t.Errorf("v2 header: %d", v)
	}
	if v := LUKSVersion([]byte("QFI\xfb\x00\x00\x00\x03")); v != 0 {
		t.Errorf("qcow2 header: %d", v)
	}
}

func TestPreviewHasNoPassphraseAndNamesCommands(t *testing.T) {
	f := newFake()
	d := deps(f, newCeph(f), nil)
	p, err := Prepare(context.Background(), d, model.DriveSpec{Pool: "rbd", Name: "img", Size: 1 << 30, Encryption: "luks2", AttachVM: "vm", Fallback: model.FallbackNextStart})
	if err != nil {
		t.Fatal(err)
	}
	pv, err := MakePreview(p)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(pv.Commands, "\n") + pv.SecretXML + pv.DiskXML
	for _, want := range []string{"private='yes'", "rbd encryption format cp/img luks2", "engine=\"librbd\"", "--config", "<auth username=\"libvirt\">"} {
		if !strings.Contains(strings.ReplaceAll(all, `"`, "'"), strings.ReplaceAll(want, `"`, "'")) {
			t.Errorf("preview lacks %q:\n%s", want, all)
		}
	}
}

// QEMU's LUKS benchmark failed twice before the volume was made: each
// retry is a line of progress (an event with its cause) and an audit
// record, and the create carries on to the end.
func TestCreateReportsEachLUKSBenchmarkRetry(t *testing.T) {
	f := newFake()
	f.benchmarkFailures = 2
	audit := NewAudit(filepath.Join(t.TempDir(), "audit.jsonl"))
	d := deps(f, nil, audit)
	p, err := Prepare(context.Background(), d, model.DriveSpec{Pool: "dir", Name: "data", Size: 1 << 30, Encryption: "luks"})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan Event, 64)
	got := collect(events)
	_, err = Create(context.Background(), d, p, events)
	evs := got()
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, e := range evs {
		if e.Kind == StepRetrying {
			if e.Step.ID != model.StepCreateVolume || !strings.Contains(e.Err.Error(), "Unable to get accurate CPU usage") {
				t.Errorf("retry event %+v: want the create-volume step with QEMU's cause", e)
			}
			notes = append(notes, e.Note)
		}
	}
	want := []string{
		"attempt 1 of 8 failed (QEMU could not time its LUKS key derivation: Unable to get accurate CPU usage); trying again",
		"attempt 2 of 8 failed (QEMU could not time its LUKS key derivation: Unable to get accurate CPU usage); trying again",
	}
	if !slices.Equal(notes, want) || evs[len(evs)-1].Kind != Finished {
		t.Errorf("retry notes %q, last event %+v; want %q then Finished", notes, evs[len(evs)-1], want)
	}
	b, _ := os.ReadFile(audit.Path())
	var retried, created int
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.Contains(l, `"action":"create volume"`) {
			continue
		}
		switch {
		case strings.Contains(l, `"result":"retried"`) && strings.Contains(l, "Unable to get accurate CPU usage"):
			retried++
		case strings.Contains(l, `"result":"ok"`):
			created++
		}
	}
	if retried != 2 || created != 1 {
		t.Errorf("audit log has %d retried and %d ok create-volume records; want 2 and 1:\n%s", retried, created, b)
	}
}

// Another admin replaces the volume this run made (same name, another
// key) before a later step fails: the rollback leaves theirs alone, says
// so, and still undoes this run's secret.
func TestRollbackKeepsAVolumeReplacedByAnotherAdmin(t *testing.T) {
	f := newFake()
	audit := NewAudit(filepath.Join(t.TempDir(), "audit.jsonl"))
	d := deps(f, nil, audit)
	p, err := Prepare(context.Background(), d, model.DriveSpec{Pool: "dir", Name: "data", Size: 1 << 20, Encryption: "luks", AttachVM: "vm"})
	if err != nil {
		t.Fatal(err)
	}
	f.failOn = "attach"
	f.beforeMutate = func(call string) {
		if strings.HasPrefix(call, "attach") {
			f.vols["dir/data"] = model.Volume{Name: "data", Pool: "dir", Path: "/p/data", Key: "their-key"}
		}
	}
	_, err = Create(context.Background(), d, p, nil)
	if err == nil || !strings.Contains(err.Error(), "left alone") || !strings.Contains(err.Error(), "their-key") {
		t.Fatalf("err %v; want the rollback to say it left their volume alone", err)
	}
	if v, ok := f.vols["dir/data"]; !ok || v.Key != "their-key" {
		t.Errorf("their volume was removed or changed: %+v %v", v, ok)
	}
	if _, ok := f.secrets["uuid-1"]; ok {
		t.Error("this run's secret was not undone")
	}
	b, _ := os.ReadFile(audit.Path())
	if !strings.Contains(string(b), `"action":"undo create volume","object":"dir/data","result":"kept"`) {
		t.Errorf("audit lacks the kept undo:\n%s", b)
	}
}

// A create cut by the timeout may have made the volume, or another admin
// may have: an encrypted volume carrying this run's secret is this run's
// and is removed; a plain one proves nothing and is left, with the command.
func TestTimedOutCreateUndoesOnlyWithProof(t *testing.T) {
	for _, c := range []struct {
		enc     model.DriveEncryption
		removed bool
	}{{model.EncryptLUKS, true}, {model.EncryptNone, false}} {
		f := newFake()
		f.createTimesOut = true
		d := deps(f, nil, nil)
		p, err := Prepare(context.Background(), d, model.DriveSpec{Pool: "dir", Name: "data", Size: 1 << 20, Encryption: c.enc})
		if err != nil {
			t.Fatal(err)
		}
		_, err = Create(context.Background(), d, p, nil)
		_, exists := f.vols["dir/data"]
		if err == nil || exists == c.removed {
			t.Errorf("%s: err %v, volume exists %v; want removed=%v", c.enc, err, exists, c.removed)
		}
		if !c.removed && !strings.Contains(err.Error(), "virsh vol-delete --pool dir data") {
			t.Errorf("%s: err %v; want the command that removes it", c.enc, err)
		}
	}
}

// A drive on shared storage is checked on every connected host: a VM on
// another host that uses the image blocks its delete (found by the image's
// key), and a host that cannot be reached blocks it too. A drive on a
// local pool is not held up by other hosts.
func TestDeleteChecksEveryConnectedHostForSharedStorage(t *testing.T) {
	newRBD := func() *fakeLibvirt {
		f := newFake()
		f.vols["rbd/img"] = model.Volume{Name: "img", Pool: "rbd", Path: "cp/img", Key: "cp/img"}
		return f
	}
	f := newRBD()
	other := newFake()
	other.doms["vm2"] = &fakeDom{state: "running", persistent: true,
		live: []model.Disk{{Target: "vdc", SourceType: "network", Source: "rbd:cp/img"}}}
	audit := NewAudit(filepath.Join(t.TempDir(), "audit.jsonl"))
	d := deps(f, nil, audit)
	d.Peers = []Peer{{Host: "qemu+ssh://hv2/system", Libvirt: other}}
	_, err := Delete(context.Background(), d, "rbd", "img", nil)
	if err == nil || !strings.Contains(err.Error(), "qemu+ssh://hv2/system vm2:vdc (live)") {
		t.Fatalf("delete of an image a VM on another host uses: %v", err)
	}
	if _, ok := f.vols["rbd/img"]; !ok {
		t.Fatal("the image was deleted")
	}
	b, _ := os.ReadFile(audit.Path())
	if !strings.Contains(string(b), `"result":"refused"`) {
		t.Errorf("the refusal is not audited:\n%s", b)
	}

	d.Peers = []Peer{{Host: "qemu+ssh://hv3/system", Err: errors.New("host unreachable")}}
	if _, err := Delete(context.Background(), d, "rbd", "img", nil); err == nil || !strings.Contains(err.Error(), "cannot check connected host qemu+ssh://hv3/system") {
		t.Fatalf("delete with a connected host that cannot be checked: %v", err)
	}
	f.vols["dir/local"] = model.Volume{Name: "local", Pool: "dir", Path: "/p/local", Key: "/p/local"}
	if _, err := Delete(context.Background(), d, "dir", "local", nil); err != nil {
		t.Fatalf("a local drive is held up by an unreachable host: %v", err)
	}
}
