package drivetransfer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"stowage/drive"
	"stowage/model"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/driveprogress"
	"stowage/ui/drivewizard"
	"stowage/ui/keys"
	"stowage/ui/keys/keytest"
)

// fakeBackend answers the checks from its fields and records runs.
type fakeBackend struct {
	mu         sync.Mutex
	vol        model.Volume
	refuse     error
	ran        []string
	preparedAs string
}

func (f *fakeBackend) Volume(context.Context, string, string) (model.Volume, error) {
	return f.vol, nil
}
func (f *fakeBackend) prep(action, arg string) (drive.PreparedTransfer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.preparedAs = action + " " + arg
	if f.refuse != nil {
		return drive.PreparedTransfer{}, f.refuse
	}
	return drive.PreparedTransfer{Action: action, Volume: f.vol, Algorithm: arg, File: arg, FileSize: 10,
		Step: model.Step{ID: model.StepID(action), Title: action}}, nil
}
func (f *fakeBackend) PrepareWipe(_ context.Context, _, _, alg string) (drive.PreparedTransfer, error) {
	return f.prep("wipe", alg)
}
func (f *fakeBackend) PrepareUpload(_ context.Context, _, _, file string) (drive.PreparedTransfer, error) {
	return f.prep("upload", file)
}
func (f *fakeBackend) PrepareDownload(_ context.Context, _, _, file string) (drive.PreparedTransfer, error) {
	return f.prep("download", file)
}
func (f *fakeBackend) run(p drive.PreparedTransfer) (drive.TransferResult, error) {
	f.mu.Lock()
	f.ran = append(f.ran, p.Action)
	f.mu.Unlock()
	return drive.TransferResult{Action: p.Action, Bytes: 10, Seconds: 1}, nil
}
func (f *fakeBackend) Wipe(_ context.Context, p drive.PreparedTransfer, _ chan<- drive.Event) (drive.TransferResult, error) {
	return f.run(p)
}
func (f *fakeBackend) Upload(_ context.Context, p drive.PreparedTransfer, _ chan<- drive.Event) (drive.TransferResult, error) {
	return f.run(p)
}
func (f *fakeBackend) Download(_ context.Context, p drive.PreparedTransfer, _ chan<- drive.Event) (drive.TransferResult, error) {
	return f.run(p)
}

// rig drives a screen as the root would: Cmds run on goroutines, their
// messages come back through Update.
type rig struct {
	t    *testing.T
	m    *Model
	msgs chan tea.Msg
	wg   sync.WaitGroup
}

func open(t *testing.T, fb *fakeBackend, a Action) *rig {
	t.Helper()
	p, _ := themes.Lookup("dark")
	d := Deps{Deps: drivewizard.Deps{Styles: themes.Build(p, true), Keys: keys.Default()},
		Transfer: func(string) (Backend, error) { return fb, nil }}
	r := &rig{t: t, m: newModel(d, common.DriveTarget{HostURI: "h", Pool: "pool", Volume: "data"}, a), msgs: make(chan tea.Msg, 1024)}
	t.Cleanup(r.wg.Wait)
	r.run(r.m.Init())
	r.until(func() bool { return r.m.stage == form })
	r.run(r.m.form.Init())
	return r
}

func (r *rig) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		msg := cmd()
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				r.run(c)
			}
			return
		}
		if msg != nil {
			r.msgs <- msg
		}
	}()
}

func (r *rig) send(msg tea.Msg) {
	_, cmd := r.m.Update(msg)
	r.run(cmd)
}

// until handles messages until cond holds (huh and the checks answer with
// messages of their own).
func (r *rig) until(cond func() bool) {
	for !cond() {
		m := <-r.msgs
		if _, ok := m.(tea.KeyPressMsg); ok {
			continue
		}
		r.send(m)
	}
}

func (r *rig) typeText(s string) {
	for _, c := range s {
		r.send(tea.KeyPressMsg{Code: c, Text: string(c)})
	}
}

func TestUploadChecksTheFileAndNeedsTheTypedName(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 101), 0o600); err != nil {
		t.Fatal(err)
	}
	fits := filepath.Join(dir, "fits")
	if err := os.WriteFile(fits, make([]byte, 100), 0o600); err != nil {
		t.Fatal(err)
	}
	fb := &fakeBackend{vol: model.Volume{Name: "data", Capacity: 100}}
	r := open(t, fb, Upload)
	if !r.m.Capturing() {
		t.Error("the form does not capture keys: typing q would quit the console")
	}
	if err := r.m.validateUpload(big); err == nil || !strings.Contains(err.Error(), "larger than the volume's capacity") {
		t.Errorf("too big a file accepted: %v", err)
	}
	if err := r.m.validateUpload(filepath.Join(dir, "none")); err == nil {
		t.Error("a missing file accepted")
	}
	km := r.m.deps.Bindings()
	r.typeText(fits)
	r.send(keytest.Press(km.Form.Next))
	r.until(func() bool { return r.m.stage == confirming })
	if fb.preparedAs != "upload "+fits {
		t.Fatalf("prepared %q", fb.preparedAs)
	}
	r.typeText("dat")
	r.send(keytest.Press(km.Confirm.Confirm))
	if r.m.progress != nil || !strings.Contains(r.m.View(), "type data exactly") {
		t.Fatalf("a wrong name started the upload:\n%s", r.m.View())
	}
	r.typeText("a")
	r.send(keytest.Press(km.Confirm.Confirm))
	if r.m.progress == nil {
		t.Fatal("the right name did not start the upload")
	}
	r.until(func() bool { return r.m.progress.Finished() })
	if len(fb.ran) != 1 || fb.ran[0] != "upload" {
		t.Errorf("ran %v", fb.ran)
	}
	if v := r.m.View(); !strings.Contains(v, "uploaded 10 B") {
		t.Errorf("result lacks what moved:\n%s", v)
	}
	_, cmd := r.m.Update(keytest.Press(km.Progress.Close))
	if pop, ok := cmd().(common.PopMsg); !ok {
		t.Errorf("close: %#v", pop)
	} else if _, ok := pop.Result.(driveprogress.DoneMsg); !ok {
		t.Errorf("close pops %#v, want a DoneMsg (the browser refreshes)", pop.Result)
	}
}

func TestDownloadRefusalReturnsToTheForm(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "exists")
	if err := os.WriteFile(existing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fb := &fakeBackend{vol: model.Volume{Name: "data", Capacity: 100}, refuse: errors.New("drive pool/data is in use by [vm:vdb (live)]")}
	r := open(t, fb, Download)
	if err := r.m.validateDownload(existing); err == nil || !strings.Contains(err.Error(), "never overwrites") {
		t.Errorf("existing target accepted: %v", err)
	}
	km := r.m.deps.Bindings()
	r.typeText(filepath.Join(dir, "new"))
	r.send(keytest.Press(km.Form.Next))
	r.until(func() bool { return r.m.err != nil })
	if r.m.stage != form || !strings.Contains(r.m.View(), "in use by") {
		t.Fatalf("refusal not shown on the form (stage %v):\n%s", r.m.stage, r.m.View())
	}
	// Fixed on the host: the same path goes on, and a download needs no
	// typed name.
	fb.refuse = nil
	r.send(keytest.Press(km.Form.Next))
	r.until(func() bool { return r.m.stage == confirming })
	r.send(keytest.Press(km.Confirm.Confirm))
	if r.m.progress == nil {
		t.Fatal("confirm did not start the download")
	}
	r.until(func() bool { return r.m.progress.Finished() })
	if len(fb.ran) != 1 || fb.ran[0] != "download" {
		t.Errorf("ran %v", fb.ran)
	}
}

func TestWipeCancelRunsNothing(t *testing.T) {
	fb := &fakeBackend{vol: model.Volume{Name: "data", Capacity: 100}}
	r := open(t, fb, Wipe)
	km := r.m.deps.Bindings()
	r.send(keytest.Press(km.Form.Next))
	r.until(func() bool { return r.m.stage == confirming })
	if fb.preparedAs != "wipe zero" {
		t.Errorf("prepared %q, want the default algorithm zero", fb.preparedAs)
	}
	if !strings.Contains(r.m.View(), keys.DangerMark) {
		t.Errorf("a wipe carries no danger mark:\n%s", r.m.View())
	}
	// The confirmation is read whole: wrapped to the width, never cut.
	r.m.SetSize(60, 20)
	v := ansi.Strip(r.m.View())
	for _, l := range strings.Split(v, "\n") {
		if ansi.StringWidth(l) > 60 {
			t.Errorf("line wider than the screen: %q", l)
		}
	}
	if !strings.Contains(strings.Join(strings.Fields(v), " "), "finishes the wipe even if you cancel.") {
		t.Errorf("confirmation cut:\n%s", v)
	}
	_, cmd := r.m.Update(keytest.Press(km.Confirm.Cancel))
	if cmd == nil {
		t.Fatal("cancel does nothing")
	}
	if _, ok := cmd().(common.PopMsg); !ok || len(fb.ran) != 0 {
		t.Errorf("cancel: ran %v", fb.ran)
	}
	if err := r.m.validateAlgorithm("shred"); err == nil {
		t.Error("an unknown algorithm accepted")
	}
}
