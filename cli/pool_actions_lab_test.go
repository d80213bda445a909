package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
	"stowage/pool"
)

// paRun is one `stowage pool VERB … --json` run.
type paRun struct {
	rc     int
	out    poolOutcome
	stderr string
}

// poolCmd runs `stowage pool VERB ARGS --json` in process, as a script
// would, and decodes its one JSON object.
func poolCmd(t *testing.T, verb string, args ...string) paRun {
	t.Helper()
	var o, e bytes.Buffer
	rc := Run(append([]string{"pool", verb}, append(args, "--json")...), &o, &e)
	r := paRun{rc: rc, stderr: e.String()}
	if rc != 2 {
		if err := json.Unmarshal(o.Bytes(), &r.out); err != nil {
			t.Fatalf("pool %s %v: rc %d, stdout is not one JSON object (%v): %q\nstderr: %s", verb, args, rc, err, o.String(), e.String())
		}
	}
	return r
}

// paNested is the nested host while a nested test runs: virsh cannot
// check the host key its qemu+ssh URI names (only stowage's dialer reads
// known_hosts=), so virsh runs there over ssh instead.
var paNested *lab.Nested

// paVirsh runs virsh against uri as a second admin would: locally, or
// on the nested host itself.
func paVirsh(t *testing.T, uri string, args ...string) (string, error) {
	t.Helper()
	if paNested == nil || uri != paNested.URI {
		return virsh(t, uri, args...)
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return onNested(t, *paNested, "virsh -q "+strings.Join(quoted, " "))
}

// paState is what an action could change, as virsh and the file system
// see it: the pool's uuid, state, autostart and volumes, and the files
// under its directory.
func paState(t *testing.T, uri, name, dir string) string {
	t.Helper()
	var b strings.Builder
	info, err := paVirsh(t, uri, "pool-info", name)
	if err != nil {
		return "no pool " + name
	}
	f := colonFields(info)
	fmt.Fprintf(&b, "uuid %s state %s autostart %s;", f["UUID"], f["State"], f["Autostart"])
	if f["State"] == "running" {
		vols, _ := paVirsh(t, uri, "vol-list", name)
		fmt.Fprintf(&b, " vols %q;", strings.Fields(vols))
	}
	if dir != "" {
		ents, err := os.ReadDir(dir)
		fmt.Fprintf(&b, " dir err %v:", err != nil)
		for _, e := range ents {
			b.WriteString(" " + e.Name())
		}
	}
	return b.String()
}

// auditTailOrNone is auditTail, empty before the first record.
func auditTailOrNone(t *testing.T) []plan.Record {
	t.Helper()
	if _, err := os.Stat(plan.DefaultAuditPath()); os.IsNotExist(err) {
		return nil
	}
	return auditTail(t)
}

// auditTail reads the audit log under $XDG_STATE_HOME.
func auditTail(t *testing.T) []plan.Record {
	t.Helper()
	b, err := os.ReadFile(plan.DefaultAuditPath())
	if err != nil {
		t.Fatal(err)
	}
	var out []plan.Record
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r plan.Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// refusedCmd runs a verb that must be refused: exit 1, "refused" in the
// JSON, every want in the message, the host as before, and the refusal
// as the audit log's last record.
func refusedCmd(t *testing.T, uri, name, dir, verb string, args []string, want ...string) paRun {
	t.Helper()
	before := paState(t, uri, name, dir)
	seen := len(auditTailOrNone(t))
	r := poolCmd(t, verb, append([]string{"--uri", uri, "--name", name}, args...)...)
	if r.rc != 1 || !r.out.Refused {
		t.Fatalf("pool %s %v: want refused (rc 1), got rc %d %+v\n%s", verb, args, r.rc, r.out, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.out.Error, w) {
			t.Errorf("pool %s: message lacks %q: %s", verb, w, r.out.Error)
		}
	}
	if after := paState(t, uri, name, dir); after != before {
		t.Errorf("pool %s refused, yet the host changed:\n before %s\n after  %s", verb, before, after)
	}
	// The refusal is audited (a delete that started a stopped pool to
	// look inside records the undo of that start after it).
	var found bool
	for _, rec := range auditTail(t)[seen:] {
		found = found || rec.Result == plan.ResultRefused && rec.Error != "" && strings.Contains(r.out.Error, rec.Error) && strings.Contains(rec.Object, name)
	}
	if !found {
		t.Errorf("pool %s: no refusal in the audit log since the run: %+v", verb, auditTail(t)[seen:])
	}
	return r
}

// okCmd runs a verb that must succeed (exit 0) with changed as given.
func okCmd(t *testing.T, uri, name, verb string, changed bool, args ...string) paRun {
	t.Helper()
	r := poolCmd(t, verb, append([]string{"--uri", uri, "--name", name}, args...)...)
	if r.rc != 0 || r.out.Changed != changed || r.out.Error != "" {
		t.Fatalf("pool %s %v: want rc 0, changed %v; got rc %d %+v\n%s", verb, args, changed, r.rc, r.out, r.stderr)
	}
	return r
}

func poolField(t *testing.T, uri, name, field string) string {
	t.Helper()
	out, err := paVirsh(t, uri, "pool-info", name)
	if err != nil {
		t.Fatal(err)
	}
	return colonFields(out)[field]
}

// definePaDir defines (not builds) a dir pool named name over dir; the
// cleanup stops and undefines whatever pool has that name then, and
// removes dir.
func definePaDir(t *testing.T, uri, name, dir string) {
	t.Helper()
	t.Cleanup(func() {
		_, _ = virsh(t, uri, "pool-destroy", name)
		_, _ = virsh(t, uri, "pool-undefine", name)
		os.RemoveAll(dir)
	})
	mustVirsh(t, uri, "pool-define-as", name, "dir", "--target", dir)
}

// paVM defines a shut-off VM (or, running, starts a transient one) with
// one disk; removed in cleanup.
func paVM(t *testing.T, uri, name string, running bool, disk string) {
	t.Helper()
	doc := fmt.Sprintf(`<domain type='kvm'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os><features><acpi/></features><devices>%s</devices></domain>`, name, disk)
	f := filepath.Join(t.TempDir(), name+".xml")
	if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if running {
		t.Cleanup(func() { _, _ = virsh(t, uri, "destroy", name) })
		mustVirsh(t, uri, "create", f)
		return
	}
	t.Cleanup(func() { _, _ = virsh(t, uri, "undefine", name) })
	mustVirsh(t, uri, "define", f)
}

// TestLabPoolActionsDir runs every action on a dir pool of its own, and
// the refusals: refresh and build in the wrong state, a dangerous action
// without --confirm, --readonly, delete of a non-empty pool, delete and
// undefine of a pool a shut-off VM uses, stop of a pool a running VM uses.
// Each refusal: message checked, host unchanged, audited.
func TestLabPoolActionsDir(t *testing.T) {
	env := lab.Need(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	uri := env.URI
	stamp := time.Now().UnixNano() % 1e9
	name := fmt.Sprintf("t-pa-dir-%d", stamp)
	dir := filepath.Join(env.Dir, "t-pa-", name)
	definePaDir(t, uri, name, dir)

	okCmd(t, uri, name, "build", true)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Fatalf("build: want directory %s: %v", dir, err)
	}
	refusedCmd(t, uri, name, dir, "refresh", nil, "is stopped", "start it first")
	okCmd(t, uri, name, "start", true)
	if s := poolField(t, uri, name, "State"); s != "running" {
		t.Fatalf("start: state %q", s)
	}
	if r := okCmd(t, uri, name, "start", false); len(r.out.Notes) == 0 || !strings.Contains(r.out.Notes[0], "already running") {
		t.Errorf("start again: notes %q", r.out.Notes)
	}
	okCmd(t, uri, name, "refresh", true)
	okCmd(t, uri, name, "autostart", true)
	if a := poolField(t, uri, name, "Autostart"); a != "yes" {
		t.Fatalf("autostart: %q", a)
	}
	okCmd(t, uri, name, "autostart", true, "--off")
	if a := poolField(t, uri, name, "Autostart"); a != "no" {
		t.Fatalf("autostart --off: %q", a)
	}
	okCmd(t, uri, name, "autostart", false, "--off")
	refusedCmd(t, uri, name, dir, "build", nil, "is running", "stop it first")
	refusedCmd(t, uri, name, dir, "start", []string{"--readonly"}, "--readonly")
	refusedCmd(t, uri, name, dir, "stop", nil, "--confirm "+name)

	mustVirsh(t, uri, "vol-create-as", name, "t-pa-vol.img", "1M", "--format", "raw")
	refusedCmd(t, uri, name, dir, "delete", []string{"--confirm", name}, "holds 1 volume(s): t-pa-vol.img", "delete the drives first")

	vol := filepath.Join(dir, "t-pa-vol.img")
	disk := fmt.Sprintf(`<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='%s'/><target dev='vdb' bus='virtio'/></disk>`, vol)
	off := fmt.Sprintf("t-pa-off-%d", stamp)
	paVM(t, uri, off, false, disk)
	for _, verb := range []string{"delete", "undefine"} {
		refusedCmd(t, uri, name, dir, verb, []string{"--confirm", name}, off+" (disk vdb, from its next start) on "+uri)
	}
	run := fmt.Sprintf("t-pa-run-%d", stamp)
	paVM(t, uri, run, true, disk)
	refusedCmd(t, uri, name, dir, "stop", []string{"--confirm", name}, run+" (disk vdb, in use now) on "+uri, "shut them down")
	mustVirsh(t, uri, "destroy", run)

	// Only the shut-off VM uses it now: stop goes ahead and warns.
	r := okCmd(t, uri, name, "stop", true, "--confirm", name)
	if len(r.out.Notes) == 0 || !strings.Contains(r.out.Notes[0], off) || !strings.Contains(r.stderr, "warning:") {
		t.Errorf("stop with a shut-off user: notes %q, stderr %s", r.out.Notes, r.stderr)
	}
	okCmd(t, uri, name, "stop", false, "--confirm", name)
	mustVirsh(t, uri, "undefine", off)

	// Stopped, the pool cannot be listed: delete starts it to look, finds
	// the volume, and stops it again.
	refusedCmd(t, uri, name, dir, "delete", []string{"--confirm", name}, "t-pa-vol.img", "delete the drives first")
	if s := poolField(t, uri, name, "State"); s != "inactive" {
		t.Fatalf("delete refused on a stopped pool: state %q, want inactive again", s)
	}
	okCmd(t, uri, name, "start", true)
	mustVirsh(t, uri, "vol-delete", "--pool", name, "t-pa-vol.img")
	okCmd(t, uri, name, "delete", true, "--confirm", name)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("delete: directory %s still there (%v)", dir, err)
	}
	if s := poolField(t, uri, name, "State"); s != "inactive" {
		t.Fatalf("after delete: state %q", s)
	}
	okCmd(t, uri, name, "undefine", true, "--confirm", name)
	if _, err := virsh(t, uri, "pool-info", name); err == nil {
		t.Fatal("undefine: the pool is still defined")
	}
	var actions []string
	for _, rec := range auditTail(t) {
		if rec.Result == plan.ResultOK {
			actions = append(actions, rec.Action)
		}
	}
	for _, want := range []string{"pool build", "pool start", "pool refresh", "pool autostart on", "pool autostart off", "pool stop", "pool delete", "pool undefine"} {
		if !strings.Contains(strings.Join(actions, "|")+"|", want+"|") {
			t.Errorf("audit lacks %q: %q", want, actions)
		}
	}
}

// TestLabPoolActionsAnotherAdmin: an undefine is prepared (the
// confirmation screen's moment), then a second admin replaces the pool
// with virsh (same name, new UUID): the action is refused, the new pool
// is left exactly as it was, and the refusal is audited.
func TestLabPoolActionsAnotherAdmin(t *testing.T) {
	env := lab.Need(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	ctx := context.Background()
	uri := env.URI
	name := fmt.Sprintf("t-pa-swap-%d", time.Now().UnixNano()%1e9)
	dir := filepath.Join(env.Dir, "t-pa-", name)
	definePaDir(t, uri, name, dir)
	c, err := libvirtx.Dial(ctx, uri, libvirtx.Options{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	d := pool.Deps{Libvirt: c, Host: uri, Audit: plan.NewAudit(plan.DefaultAuditPath())}
	for _, s := range []pool.Spec{{Action: pool.Undefine, Pool: name}, {Action: pool.Autostart, Pool: name}} {
		pr, err := pool.Prepare(ctx, d, s)
		if err != nil {
			t.Fatal(err)
		}
		mustVirsh(t, uri, "pool-undefine", name)
		mustVirsh(t, uri, "pool-define-as", name, "dir", "--target", dir+"-other")
		before := paState(t, uri, name, "")
		_, err = pool.Run(ctx, d, pr, name, nil)
		if err == nil || !strings.Contains(err.Error(), "its uuid was "+pr.Pool.UUID) || !strings.Contains(err.Error(), "another admin replaced it") {
			t.Fatalf("%s: want the replaced pool refused, got %v", s.Verb(), err)
		}
		if after := paState(t, uri, name, ""); after != before {
			t.Fatalf("%s: the other admin's pool changed:\n %s\n %s", s.Verb(), before, after)
		}
		recs := auditTail(t)
		if last := recs[len(recs)-1]; last.Result != plan.ResultRefused || !strings.Contains(last.Object, pr.Pool.UUID) {
			t.Fatalf("%s: audit %+v", s.Verb(), last)
		}
	}
	// Undefined by the other admin after the confirmation: refused too.
	pr, err := pool.Prepare(ctx, d, pool.Spec{Action: pool.Start, Pool: name})
	if err != nil {
		t.Fatal(err)
	}
	mustVirsh(t, uri, "pool-undefine", name)
	if _, err := pool.Run(ctx, d, pr, "", nil); err == nil || !strings.Contains(err.Error(), "is gone since the action was prepared") {
		t.Fatalf("undefined meanwhile: want refused, got %v", err)
	}
	if _, err := virsh(t, uri, "pool-info", name); err == nil {
		t.Fatal("a pool of that name exists again")
	}
}

// TestLabPoolActionsRBD runs every action on an rbd pool of its own over
// the lab's Ceph pool: start, refresh, autostart, stop and undefine work;
// build and delete are refused with why (libvirt cannot build or delete a
// Ceph pool) and change nothing; a shut-off VM with a disk on the Ceph
// pool makes undefine refuse and stop warn. Other VMs on the lab may use
// the same Ceph pool: where one runs, stop must be refused naming it.
func TestLabPoolActionsRBD(t *testing.T) {
	env := lab.Need(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	uri := env.URI
	stamp := time.Now().UnixNano() % 1e9
	name := fmt.Sprintf("t-pa-rbd-%d", stamp)
	doc, err := libvirtx.PoolSpecXML(model.PoolSpec{Type: "rbd", Name: name, Monitors: []string{"127.0.0.1:6789"},
		CephPool: env.CephPool, CephUser: env.CephUser}, env.CephSecret)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "pool.xml")
	if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = virsh(t, uri, "pool-destroy", name)
		_, _ = virsh(t, uri, "pool-undefine", name)
	})
	mustVirsh(t, uri, "pool-define", f)

	refusedCmd(t, uri, name, "", "build", nil, "nothing to build")
	okCmd(t, uri, name, "start", true)
	okCmd(t, uri, name, "start", false)
	okCmd(t, uri, name, "refresh", true)
	okCmd(t, uri, name, "autostart", true)
	okCmd(t, uri, name, "autostart", true, "--off")
	refusedCmd(t, uri, name, "", "delete", []string{"--confirm", name}, "cannot delete an rbd pool's storage", "undefine")

	off := fmt.Sprintf("t-pa-rbdvm-%d", stamp)
	paVM(t, uri, off, false, fmt.Sprintf(`<disk type='network' device='disk'><driver name='qemu' type='raw'/>
<source protocol='rbd' name='%s/t-pa-img-%d'><host name='127.0.0.1' port='6789'/></source><target dev='vdb' bus='virtio'/></disk>`, env.CephPool, stamp))
	refusedCmd(t, uri, name, "", "undefine", []string{"--confirm", name}, off+" (disk vdb, from its next start)")

	// Running VMs of other tests may have disks on the same Ceph pool.
	var running []string
	for _, vm := range strings.Fields(mustVirsh(t, uri, "list", "--name")) {
		if out, _ := virsh(t, uri, "domblklist", vm); strings.Contains(out, " "+env.CephPool+"/") {
			running = append(running, vm)
		}
	}
	if len(running) > 0 {
		t.Logf("running VMs on Ceph pool %s: %v: stop must be refused", env.CephPool, running)
		refusedCmd(t, uri, name, "", "stop", []string{"--confirm", name}, running[0]+" (disk", "in use now")
		return
	}
	r := okCmd(t, uri, name, "stop", true, "--confirm", name)
	if len(r.out.Notes) == 0 || !strings.Contains(r.out.Notes[0], off) {
		t.Errorf("stop: notes %q, want the shut-off VM named", r.out.Notes)
	}
	mustVirsh(t, uri, "undefine", off)
	okCmd(t, uri, name, "start", true)
	// A running pool is stopped, then undefined, in one plan.
	r = okCmd(t, uri, name, "undefine", true, "--confirm", name)
	if len(r.out.Steps) != 2 || r.out.Steps[0].ID != pool.StepStop {
		t.Errorf("undefine of a running pool: steps %+v", r.out.Steps)
	}
	if _, err := virsh(t, uri, "pool-info", name); err == nil {
		t.Fatal("undefine: the pool is still defined")
	}
	if s := poolField(t, uri, env.RBDPool, "State"); s != "running" {
		t.Errorf("the lab's rbd pool %s on the same Ceph pool: state %q", env.RBDPool, s)
	}
}
