package driveresize

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"stowage/drive"
	"stowage/model"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/keys"
	"stowage/ui/keys/keytest"
)

type fakeBackend struct {
	target  drive.ResizeTarget
	specs   []drive.ResizeSpec
	resized int
}

func (f *fakeBackend) InspectResize(context.Context, string, string) (drive.ResizeTarget, error) {
	return f.target, nil
}

func (f *fakeBackend) PrepareResize(_ context.Context, s drive.ResizeSpec) (drive.ResizePrepared, error) {
	f.specs = append(f.specs, s)
	to, err := f.target.Check(s.Size, s.Shrink, s.Confirm)
	if err != nil {
		return drive.ResizePrepared{Target: f.target}, err
	}
	return drive.ResizePrepared{Target: f.target, Spec: s, To: to, Plan: model.ResizePlan("p/d", f.target.GuestSize, to, "libvirt")}, nil
}

func (f *fakeBackend) Resize(context.Context, drive.ResizePrepared, chan<- drive.Event) (drive.Result, error) {
	f.resized++
	return drive.Result{}, nil
}

func target(enc string) drive.ResizeTarget {
	return drive.ResizeTarget{Volume: model.Volume{Name: "d", Capacity: 32 << 20}, GuestSize: 32 << 20, Encryption: enc}
}

func open(t *testing.T, fb *fakeBackend) *Resizer {
	t.Helper()
	p, _ := themes.Lookup("dark")
	r := New(Deps{Styles: themes.Build(p, true), Backend: func(string) (Backend, error) { return fb, nil }},
		common.DriveTarget{HostURI: "h", Pool: "p", Volume: "d"}).(*Resizer)
	r.Update(r.Init()())
	if r.form == nil {
		t.Fatalf("no form after reading the drive: %v", r.err)
	}
	return r
}

// settle feeds the messages of cmd back into the screen, the way the
// runtime would, skipping those that only tick (a cursor blink).
func settle(r *Resizer, cmd tea.Cmd) []tea.Msg {
	var seen []tea.Msg
	queue := []tea.Cmd{cmd}
	for n := 0; len(queue) > 0 && n < 50; n++ {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		got := make(chan tea.Msg, 1)
		go func() { got <- c() }()
		var msg tea.Msg
		select {
		case msg = <-got:
		case <-time.After(100 * time.Millisecond):
			continue // a timer: not part of the flow under test
		}
		if b, ok := msg.(tea.BatchMsg); ok {
			queue = append(queue, b...)
			continue
		}
		seen = append(seen, msg)
		if _, pop := msg.(common.PopMsg); pop {
			continue
		}
		_, next := r.Update(msg)
		queue = append(queue, next)
	}
	return seen
}

func typeText(r *Resizer, s string) {
	for _, ch := range s {
		settle(r, func() tea.Msg { return keytest.Key(string(ch)) })
	}
}

func TestValidatesAsTyped(t *testing.T) {
	r := open(t, &fakeBackend{target: target("luks")})
	if !r.Capturing() {
		t.Error("the form does not capture keys: typing in it would act on the console")
	}
	if !strings.Contains(r.View(), "32.0 MiB") || !strings.Contains(r.View(), "grow only") {
		t.Errorf("the form does not show the current size and that LUKS only grows:\n%s", r.View())
	}
	for in, want := range map[string]string{
		"16M": "never shrinks an encrypted drive", "abc": "does not start with a number",
		"-1G": "only grows", "32M": "nothing to change", "+16M": "",
	} {
		r.size = in
		_, err := r.check()
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: %v; want %q", in, err, want)
		}
	}
	r = open(t, &fakeBackend{target: target("")})
	r.size, r.confirm = "16M", ""
	if _, err := r.check(); err == nil || !strings.Contains(err.Error(), "is not the drive's name") {
		t.Errorf("plain shrink without the name: %v", err)
	}
	r.confirm = "d"
	if to, err := r.check(); err != nil || to != 16<<20 {
		t.Errorf("plain shrink with the name: %d, %v", to, err)
	}
}

// Typing a growth and pressing the form's next key through both fields
// prepares the resize and opens the progress view.
func TestGrowByKeys(t *testing.T) {
	fb := &fakeBackend{target: target("")}
	r := open(t, fb)
	km := keys.Default()
	typeText(r, "+16M")
	settle(r, func() tea.Msg { return keytest.Press(km.Form.Next) })
	settle(r, func() tea.Msg { return keytest.Press(km.Form.Next) })
	if len(fb.specs) != 1 {
		t.Fatalf("%d prepares after submitting, want 1 (view:\n%s)", len(fb.specs), r.View())
	}
	s := fb.specs[0]
	if s.Size != (model.SizeChange{Bytes: 16 << 20, Relative: true}) || s.Shrink || s.Pool != "p" || s.Name != "d" {
		t.Errorf("spec %+v", s)
	}
	if r.progress == nil {
		t.Fatalf("no progress view after the check passed:\n%s", r.View())
	}
}

// A refused size (checked again by the host) keeps the form, with why.
func TestRefusalKeepsTheForm(t *testing.T) {
	fb := &fakeBackend{target: target("luks2")}
	r := open(t, fb)
	r.size = "8M"
	r.Update(r.prepare()())
	if r.progress != nil || r.form == nil || r.err == nil || !strings.Contains(r.View(), "never shrinks") {
		t.Errorf("refusal not shown on the form:\n%s", r.View())
	}
	if fb.resized != 0 {
		t.Error("a refused resize ran")
	}
}

func TestCancelPops(t *testing.T) {
	r := open(t, &fakeBackend{target: target("")})
	msgs := settle(r, func() tea.Msg { return keytest.Press(keys.Default().Form.Cancel) })
	popped := false
	for _, m := range msgs {
		_, ok := m.(common.PopMsg)
		popped = popped || ok
	}
	if !popped {
		t.Fatalf("cancel did not pop the screen: %v", msgs)
	}
	if _, cmd := r.Update(tea.WindowSizeMsg{Width: 80, Height: 24}); cmd != nil {
		t.Error("a message after the cancel led to a command")
	}
}
