package drivewizard

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
	"stowage/ui/driveprogress"
	"stowage/ui/keys"
	"stowage/ui/keys/keytest"
)

type fakeBackend struct {
	driveprogress.Backend
	prepareErr error
	specs      []model.DriveSpec
	// namesErr is VolumeNames' error (with its names still returned).
	namesErr error
}

func (f *fakeBackend) Pools(context.Context) ([]model.Pool, error) {
	return []model.Pool{
		{Name: "iscsi", Type: model.PoolISCSIDirect, Active: true},
		{Name: "dir", Type: model.PoolDir, Active: true, Available: 1 << 30},
		{Name: "vg", Type: model.PoolLogical, Active: true, Available: 1 << 30},
		{Name: "rbd", Type: model.PoolRBD, Active: true, Available: 1 << 40},
	}, nil
}
func (f *fakeBackend) VolumeNames(_ context.Context, pool string) ([]string, error) {
	return []string{"taken"}, f.namesErr
}
func (f *fakeBackend) DomainNames(context.Context) ([]string, error) { return []string{"vm1"}, nil }
func (f *fakeBackend) Prepare(_ context.Context, s model.DriveSpec) (drive.Prepared, error) {
	f.specs = append(f.specs, s)
	if f.prepareErr != nil && s.Fallback == "" {
		return drive.Prepared{}, f.prepareErr
	}
	return drive.Prepared{Spec: s, Plan: model.CreatePlan(s)}, nil
}

func open(t *testing.T, fb *fakeBackend, at common.DriveTarget) *Wizard {
	t.Helper()
	p, _ := themes.Lookup("dark")
	w := New(Deps{Styles: themes.Build(p, true), Backend: func(string) (driveprogress.Backend, error) { return fb, nil }}, at).(*Wizard)
	msg := w.Init()()
	w.Update(msg)
	if w.phase != form {
		t.Fatalf("phase %v after loading, err %v", w.phase, w.err)
	}
	return w
}

func TestWizardValidatesAsTyped(t *testing.T) {
	w := open(t, &fakeBackend{}, common.DriveTarget{HostURI: "h", Pool: "vg", VM: "vm1"})
	if w.pool != "vg" || w.vm != "vm1" {
		t.Errorf("presets not applied: pool %q vm %q", w.pool, w.vm)
	}
	if !w.Capturing() {
		t.Error("the form does not capture keys: typing q in the name would quit the console")
	}
	if err := w.validatePool("iscsi"); err == nil || !strings.Contains(err.Error(), "LVM-on-iSCSI") {
		t.Errorf("iscsi selectable: %v", err)
	}
	if err := w.validateName("taken"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate accepted: %v", err)
	}
	w.size = "2G"
	if err := w.validateSize(w.size); err == nil || !strings.Contains(err.Error(), "cannot over-commit") {
		t.Errorf("over-committing an LVM pool accepted: %v", err)
	}
	w.pool = "dir"
	if err := w.validateSize(w.size); err != nil || !strings.Contains(w.sizeNote(), "over-committed") {
		t.Errorf("dir over-commit: %v, note %q; want accepted with a warning", err, w.sizeNote())
	}
	w.size = "10X"
	if err := w.validateSize(w.size); err == nil || !strings.Contains(err.Error(), "unknown unit") {
		t.Errorf("bad unit accepted: %v", err)
	}
	w.pool = "rbd"
	if err := w.validateName("a@b"); err == nil {
		t.Error("'@' accepted on rbd")
	}
	// huh takes the first option when the value is not among the new ones;
	// encOptions itself changes nothing (huh runs it off the UI goroutine).
	enc := w.enc
	opts := w.encOptions()
	if opts[0].Value != "luks2" || w.enc != enc {
		t.Errorf("rbd encryption options %v (value %q, was %q); want luks2 first, the value untouched", opts, w.enc, enc)
	}
}

// A pool too large for libvirt to list still opens the form with the names
// it has; any other listing failure stops the wizard with its reason.
func TestWizardOpensOnAPoolBeyondTheListLimit(t *testing.T) {
	limit := &model.ListLimitError{Pool: "dir", Total: 20000, Listed: model.VolumeListMax}
	w := open(t, &fakeBackend{namesErr: limit}, common.DriveTarget{HostURI: "h", Pool: "dir"})
	if err := w.validateName("taken"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("the partial names are not used: %v", err)
	}
	p, _ := themes.Lookup("dark")
	fb := &fakeBackend{namesErr: errors.New("list volumes: libvirtd did not answer in time")}
	w = New(Deps{Styles: themes.Build(p, true), Backend: func(string) (driveprogress.Backend, error) { return fb, nil }},
		common.DriveTarget{HostURI: "h", Pool: "dir"}).(*Wizard)
	w.Update(w.Init()())
	if w.phase == form || w.err == nil || !strings.Contains(w.err.Error(), "did not answer") {
		t.Errorf("phase %v, err %v; want the listing failure shown", w.phase, w.err)
	}
}

func TestWizardAsksForHotplugFallback(t *testing.T) {
	fb := &fakeBackend{prepareErr: drive.ErrNeedsChoice}
	w := open(t, fb, common.DriveTarget{HostURI: "h", Pool: "rbd", VM: "vm1"})
	w.name, w.size, w.enc = "img", "1G", "luks2"
	w.Update(w.prepare()())
	if w.phase != choosing || !errors.Is(w.err, drive.ErrNeedsChoice) {
		t.Fatalf("phase %v err %v; want the fallback choice", w.phase, w.err)
	}
	if !strings.Contains(w.View(), "next start") || strings.Contains(w.View(), "QEMU-layer decryption (slower)") {
		t.Errorf("LUKS2 choice must offer next-start only:\n%s", w.View())
	}
	w.Update(w.prepare()())
	if w.phase != review || fb.specs[len(fb.specs)-1].Fallback != model.FallbackNextStart {
		t.Errorf("phase %v, spec %+v", w.phase, fb.specs[len(fb.specs)-1])
	}
}

// huh runs DescriptionFunc and OptionsFunc in Cmds, off the UI goroutine,
// while Update keeps writing the fields they read: typing a size and
// changing the pool with those Cmds running concurrently is race-free
// (run with -race; the console's end-to-end test found this race).
func TestFormFuncsRunOffTheUIGoroutine(t *testing.T) {
	w := open(t, &fakeBackend{}, common.DriveTarget{HostURI: "h", Pool: "dir"})
	km := w.deps.Bindings().Form
	var wg sync.WaitGroup
	defer wg.Wait()
	msgs := make(chan tea.Msg, 1024)
	var run func(cmd tea.Cmd)
	run = func(cmd tea.Cmd) {
		if cmd == nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := cmd()
			if b, ok := msg.(tea.BatchMsg); ok {
				for _, c := range b {
					run(c)
				}
				return
			}
			if msg != nil {
				msgs <- msg
			}
		}()
	}
	send := func(msg tea.Msg) {
		_, cmd := w.Update(msg)
		run(cmd)
		for {
			select {
			case m := <-msgs:
				if _, ok := m.(tea.KeyPressMsg); !ok {
					_, cmd := w.Update(m)
					run(cmd)
				}
				continue
			default:
			}
			return
		}
	}
	// next presses Enter and handles messages until the focus moved (huh
	// moves it with a message of its own).
	next := func() {
		from := w.form.GetFocusedField()
		send(keytest.Press(km.Next))
		for w.form.GetFocusedField() == from {
			_, cmd := w.Update(<-msgs)
			run(cmd)
		}
	}
	keys := func(s string) {
		for _, r := range s {
			send(tea.KeyPressMsg{Code: r, Text: string(r)})
		}
	}
	run(w.form.Init())
	send(keytest.Press(km.Down)) // another pool: the funcs' binding changes
	send(keytest.Press(km.Up))
	next()
	keys("newdrive")
	next()
	keys("123456789")
	if w.name != "newdrive" || w.size != "123456789" {
		t.Errorf("name %q, size %q", w.name, w.size)
	}
}

// The review's keys and hint are the keymap's; a remap of the form keys
// reaches huh's keymap (the form's hints come from it).
func TestReviewAndFormKeysFollowTheKeymap(t *testing.T) {
	km := keys.Default()
	if err := km.Remap(map[string][]string{"drive_wizard.create": {"ctrl+s"}, "form.next": {"ctrl+n"}, "form.down": {"down"}}); err != nil {
		t.Fatal(err)
	}
	fb := &fakeBackend{}
	p, _ := themes.Lookup("dark")
	w := New(Deps{Styles: themes.Build(p, true), Keys: km, Backend: func(string) (driveprogress.Backend, error) { return fb, nil }},
		common.DriveTarget{HostURI: "h", Pool: "dir"}).(*Wizard)
	w.Update(w.Init()())
	var next []string
	for _, b := range w.ShortHelp() {
		if b.Help().Desc == "select" || b.Help().Desc == "next" {
			next = append(next, b.Help().Key)
		}
	}
	if len(next) == 0 || next[0] != "ctrl+n" {
		t.Errorf("the form offers next as %v; want ctrl+n", next)
	}
	w.name, w.size, w.enc = "d", "1G", "none"
	w.Update(w.prepare()())
	if w.phase != review || !strings.Contains(w.View(), "ctrl+s: create") {
		t.Fatalf("phase %v; the review's hint does not follow the remap:\n%s", w.phase, w.View())
	}
	if w.Update(keytest.Press(keys.Default().DriveWizard.Create)); w.phase != review {
		t.Fatal("the default create key still creates after the remap")
	}
}
