package driveclone

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"

	"stowage/drive"
	"stowage/model"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/drivewizard"
	"stowage/ui/keys"
	"stowage/ui/keys/keytest"
)

type fakeBackend struct {
	mu         sync.Mutex
	prepareErr error
	specs      []model.CloneSpec
	cloned     chan drive.PreparedClone
}

func (f *fakeBackend) Pools(context.Context) ([]model.Pool, error) {
	return []model.Pool{
		{Name: "dir", Type: model.PoolDir, Active: true, Available: 1 << 30},
		{Name: "vg", Type: model.PoolLogical, Active: true, Available: 1 << 30},
		{Name: "off", Type: model.PoolDir, Active: false},
		{Name: "iscsi", Type: model.PoolISCSIDirect, Active: true},
		{Name: "rbd", Type: model.PoolRBD, Active: true, Available: 1 << 40},
	}, nil
}
func (f *fakeBackend) VolumeNames(_ context.Context, pool string) ([]string, error) {
	if pool == "dir" || pool == "rbd" {
		return []string{"src"}, nil
	}
	return []string{"taken-in-" + pool}, nil
}
func (f *fakeBackend) PrepareClone(_ context.Context, s model.CloneSpec) (drive.PreparedClone, error) {
	f.mu.Lock()
	f.specs = append(f.specs, s)
	f.mu.Unlock()
	if f.prepareErr != nil {
		return drive.PreparedClone{}, f.prepareErr
	}
	return drive.PreparedClone{Spec: s, Kind: model.CloneQEMULUKS, SourceSecret: "old-uuid",
		Plan: model.ClonePlan(model.CloneQEMULUKS, s.To)}, nil
}
func (f *fakeBackend) Clone(_ context.Context, p drive.PreparedClone, _ chan<- drive.Event) (drive.Result, error) {
	f.cloned <- p
	return drive.Result{Pool: p.Spec.Target(), Name: p.Spec.To}, nil
}

func open(t *testing.T, fb *fakeBackend, at common.DriveTarget) *Screen {
	t.Helper()
	p, _ := themes.Lookup("dark")
	d := Deps{Deps: drivewizard.Deps{Styles: themes.Build(p, true)},
		Clones: func(string) (Backend, error) { return fb, nil }}
	c := New(d, at).(*Screen)
	c.Update(c.Init()())
	if c.phase != form {
		t.Fatalf("phase %v after loading, err %v", c.phase, c.err)
	}
	return c
}

// driver runs the screen's Cmds off the test goroutine (huh's blink and
// focus Cmds) and feeds their messages back, as the program would.
type driver struct {
	t    *testing.T
	c    *Screen
	wg   sync.WaitGroup
	msgs chan tea.Msg
}

func drive_(t *testing.T, c *Screen) *driver {
	d := &driver{t: t, c: c, msgs: make(chan tea.Msg, 1024)}
	t.Cleanup(d.wg.Wait)
	return d
}

func (d *driver) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		msg := cmd()
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				d.run(c)
			}
			return
		}
		if msg != nil {
			d.msgs <- msg
		}
	}()
}

func (d *driver) send(msg tea.Msg) {
	_, cmd := d.c.Update(msg)
	d.run(cmd)
}

// until feeds messages back until cond holds.
func (d *driver) until(cond func() bool) {
	for !cond() {
		m := <-d.msgs
		if _, ok := m.(tea.KeyPressMsg); !ok {
			d.send(m)
		}
	}
}

func (d *driver) typeText(s string) {
	for _, r := range s {
		d.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// The form offers only pools that can take this clone, checks the new
// name against the chosen pool as it is typed, and never accepts a name
// the pool has.
func TestCloneFormValidatesAsTyped(t *testing.T) {
	c := open(t, &fakeBackend{}, common.DriveTarget{HostURI: "h", Pool: "dir", Volume: "src"})
	if !c.Capturing() {
		t.Error("the form does not capture keys: q in a name would quit the console")
	}
	var names []string
	for _, p := range c.targets() {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "dir,vg" {
		t.Errorf("target pools %v; want dir and vg (active, can create, not rbd for a dir source)", names)
	}
	if err := c.validateName("src"); err == nil || !strings.Contains(err.Error(), "never overwrites") {
		t.Errorf("the source's own name accepted in its pool: %v", err)
	}
	c.toPool = "vg"
	if err := c.validateName("taken-in-vg"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("a name taken in the target pool accepted: %v", err)
	}
	if err := c.validateName("src"); err != nil {
		t.Errorf("the source's name in another pool refused: %v", err)
	}
	if err := c.validateName("a/b"); err == nil {
		t.Error("a name with '/' accepted")
	}
	rbd := open(t, &fakeBackend{}, common.DriveTarget{HostURI: "h", Pool: "rbd", Volume: "src"})
	if ts := rbd.targets(); len(ts) != 1 || ts[0].Name != "rbd" {
		t.Errorf("targets of an rbd source %v; want rbd only", ts)
	}
	if !rbd.sourceRBD() || rbd.spec().RBDMethod != model.RBDMethodCopy {
		t.Errorf("rbd source: method %q; want copy by default", rbd.spec().RBDMethod)
	}
}

// Keys by binding: the name typed, next through the form, the review,
// the clone started in the progress view with the spec the admin chose.
func TestCloneKeysFormReviewProgress(t *testing.T) {
	fb := &fakeBackend{cloned: make(chan drive.PreparedClone, 1)}
	c := open(t, fb, common.DriveTarget{HostURI: "h", Pool: "dir", Volume: "src"})
	km := keys.Default()
	d := drive_(t, c)
	d.run(c.form.Init())
	// Target pool: down to vg, then on to the name.
	d.send(keytest.Press(km.Form.Down))
	from := c.form.GetFocusedField()
	d.send(keytest.Press(km.Form.Next))
	d.until(func() bool { return c.form.GetFocusedField() != from })
	d.typeText("src-copy")
	d.send(keytest.Press(km.Form.Next))
	d.until(func() bool { return c.phase == review })
	if c.toPool != "vg" || c.to != "src-copy" {
		t.Fatalf("form gave pool %q name %q", c.toPool, c.to)
	}
	v := c.View()
	if !strings.Contains(v, "new secret") || !strings.Contains(v, "not old-uuid") {
		t.Errorf("the review does not say the clone gets its own secret:\n%s", v)
	}
	// Back to the form and forward again keeps the values.
	d.send(keytest.Press(km.DriveWizard.Back))
	if c.phase != form || c.to != "src-copy" {
		t.Fatalf("back: phase %v name %q", c.phase, c.to)
	}
	c.phase = preparing
	d.run(c.prepare())
	d.until(func() bool { return c.phase == review })
	d.send(keytest.Press(km.DriveWizard.Create))
	if c.phase != running || !c.Capturing() {
		t.Fatalf("phase %v capturing %v after create; want the progress view holding the keys", c.phase, c.Capturing())
	}
	p := <-fb.cloned
	if p.Spec != (model.CloneSpec{Pool: "dir", Name: "src", ToPool: "vg", To: "src-copy"}) {
		t.Errorf("cloned %+v", p.Spec)
	}
}

// A refusal from the host comes back on the form, saying why; a reply to
// an older request is dropped.
func TestClonePrepareRefusalAndStaleReplies(t *testing.T) {
	fb := &fakeBackend{prepareErr: errors.New("drive dir/src is attached to a running VM ([vm1])")}
	c := open(t, fb, common.DriveTarget{HostURI: "h", Pool: "dir", Volume: "src"})
	c.to = "new"
	old := c.prepare()
	fresh := c.prepare()
	c.Update(old())
	if c.phase != preparing {
		t.Fatalf("a stale reply moved the screen to phase %v", c.phase)
	}
	c.Update(fresh())
	if c.phase != form || !strings.Contains(c.View(), "running VM") {
		t.Errorf("phase %v; the refusal is not shown:\n%s", c.phase, c.View())
	}
}
