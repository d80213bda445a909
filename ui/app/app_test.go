package app

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"charm.land/bubbles/v2/cursor"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"stowage/model"
	"stowage/plan"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/data"
	"stowage/ui/keys"
	"stowage/ui/keys/keytest"
	"stowage/ui/palette"
	"stowage/ui/views"
	"stowage/ui/views/list"
)

// fake is a Backend that serves fixed parts (unit tests only).
type fake struct {
	uris    []string
	parts   [][]model.Part
	err     []error
	streams atomic.Int32

	// fixes records ApplyFix's calls; fixed, when set, answers them (and
	// may change parts, under mu).
	mu    sync.Mutex
	fixes []fixCall
	fixed func(f *fake, i int, a model.FixAction) error
	// extra are the findings the whole diagnosis adds (probes, Ceph).
	extra []model.Finding
}

// fixCall is one ApplyFix call: value is the caller's slice itself, so a
// test sees whether it was cleared.
type fixCall struct {
	host   int
	action model.FixAction
	value  []byte
	typed  string
}

func (f *fake) URIs() []string { return f.uris }
func (f *fake) Stream(ctx context.Context, i int, o model.StreamOptions, out chan<- model.Part) error {
	f.streams.Add(1)
	if f.err[i] != nil {
		return f.err[i]
	}
	f.mu.Lock()
	parts := f.parts[i]
	f.mu.Unlock()
	for _, p := range parts {
		out <- p
	}
	return nil
}
func (f *fake) ApplyFix(_ context.Context, i int, a model.FixAction, value []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fixes = append(f.fixes, fixCall{host: i, action: a, value: value, typed: string(value)})
	if f.fixed == nil {
		return errors.New("no fixes in the fake")
	}
	return f.fixed(f, i, a)
}
func (f *fake) Diagnose(_ context.Context, i int) ([]model.Finding, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.extra), nil
}
func (f *fake) Status(i int) model.Status {
	if f.err[i] != nil {
		return model.Status{State: model.StateDisconnected, Reason: f.err[i].Error(), Err: f.err[i]}
	}
	return model.Status{State: model.StateConnected}
}
func (f *fake) Events(context.Context, int) (<-chan model.DomainEvent, error) {
	return nil, errors.New("no events in the fake")
}
func (f *fake) Describe(context.Context, int, data.Object) (string, error) { return "<pool/>", nil }
func (f *fake) CreatePool(context.Context, int, model.PoolSpec, []byte, chan<- plan.Event) error {
	return nil
}
func (f *fake) TrustHostKey(int, *model.UnknownHostKeyError) error { return nil }

func labHost() []model.Part {
	return []model.Part{
		{Kind: model.PartVersions, Lib: "9.0.0", HV: "7.2.0"},
		{Kind: model.PartPools, Caps: model.PoolCaps{}, Pools: []model.Pool{
			{Name: "default", Type: model.PoolDir, Active: true, Capacity: 100 << 30, Allocation: 10 << 30},
			{Name: "san", Type: model.PoolISCSIDirect, Active: true, Capacity: 1 << 30, Allocation: 1 << 30},
		}},
		{Kind: model.PartVolumes, Pool: "default", Volumes: []model.Volume{
			{Name: "a.qcow2", Pool: "default", Path: "/p/a.qcow2", Capacity: 1 << 30, Format: "qcow2"},
			{Name: "b.raw", Pool: "default", Path: "/p/b.raw", Capacity: 2 << 30, Format: "raw"},
		}},
		{Kind: model.PartDomains, Domains: []model.Domain{{Name: "vm1", State: "running",
			Disks: []model.Disk{{Target: "vdb", Bus: "virtio", SourceType: "file", Source: "/p/b.raw"}}}}},
		{Kind: model.PartSecrets, Secrets: []model.SecretInfo{}},
	}
}

// tickArmed is what the poll timer's Cmd returns in these tests (see
// newModel's Deps.Tick): the timer is recognised by its message, never by
// how long its Cmd takes. fire is the tick the real timer would deliver.
type tickArmed struct{ fire func(time.Time) tea.Msg }

// drain runs cmd and every Cmd that follows from it, as the runtime would:
// each in its own goroutine, each message fed back to Update on this
// goroutine, until every Cmd has returned. Timers are recognised by the
// message they return and not fed back, so none is re-armed: the poll tick
// (tickArmed), and the text cursor's blinks (a blink Cmd ends when its
// blink is due or superseded by the next keystroke's).
func drain(t testing.TB, m *Model, cmd tea.Cmd) (armed []tickArmed) {
	t.Helper()
	msgs := make(chan tea.Msg)
	running := 0
	start := func(c tea.Cmd) {
		if c == nil {
			return
		}
		running++
		go func() { msgs <- c() }()
	}
	start(cmd)
	for n := 0; running > 0; n++ {
		if n > 10000 {
			t.Fatal("message loop does not settle")
		}
		var msg tea.Msg
		select {
		case msg = <-msgs:
		case <-time.After(time.Minute): // a hang guard, not a clock the test relies on
			t.Fatalf("%d Cmds never returned", running)
		}
		running--
		switch msg := msg.(type) {
		case nil:
			continue
		case tickArmed:
			armed = append(armed, msg)
			continue
		case tea.BatchMsg:
			for _, c := range msg {
				start(c)
			}
			continue
		}
		if blink(msg) {
			continue
		}
		_, next := m.Update(msg)
		start(next)
	}
	return armed
}

// blink reports the text cursor's own timer messages.
func blink(msg tea.Msg) bool {
	return reflect.TypeOf(msg).PkgPath() == reflect.TypeOf(cursor.BlinkMsg{}).PkgPath()
}

func newModel(t *testing.T, f *fake, acts common.Actions) *Model {
	t.Helper()
	return newModelFrom(t, f, Deps{Keys: keys.Default(), Actions: acts})
}

// newModelFrom builds the root on f with d's keys, actions and --readonly
// (the store, styles, views and timer are the tests'), sized, with its
// first reads done.
func newModelFrom(t *testing.T, f data.Backend, d Deps) *Model {
	t.Helper()
	pal, _ := themes.Lookup("dark")
	d.Store, d.Styles, d.Refresh, d.Kinds = data.NewStore(f, time.Second), themes.Build(pal, true), time.Hour, views.Registry()
	d.Tick = func(_ time.Duration, fn func(time.Time) tea.Msg) tea.Cmd {
		return func() tea.Msg { return tickArmed{fire: fn} }
	}
	m := New(d)
	m.Update(tea.WindowSizeMsg{Width: 140, Height: 30})
	drain(t, m, m.Init())
	return m
}

func press(t *testing.T, m *Model, b key.Binding) {
	t.Helper()
	k := b.Keys()[0]
	var msg tea.KeyPressMsg
	switch k {
	case "enter":
		msg = tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		msg = tea.KeyPressMsg{Code: tea.KeyEscape}
	case "down":
		msg = tea.KeyPressMsg{Code: tea.KeyDown}
	default:
		r := []rune(k)
		msg = tea.KeyPressMsg{Code: r[0], Text: k}
		if strings.HasPrefix(k, "ctrl+") {
			msg = tea.KeyPressMsg{Code: rune(k[5]), Mod: tea.ModCtrl}
		}
	}
	_, cmd := m.Update(msg)
	drain(t, m, cmd)
}

// typeText types s, then runs what the keystrokes returned (each
// keystroke's cursor blink supersedes the one before).
func typeText(t *testing.T, m *Model, s string) {
	var cmds []tea.Cmd
	for _, r := range s {
		_, cmd := m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
		cmds = append(cmds, cmd)
	}
	drain(t, m, tea.Batch(cmds...))
}

func topList(t testing.TB, m *Model) *list.Model { t.Helper(); return topAs[*list.Model](t, m) }

// topAs is the top screen as a T; the test fails when it is another.
func topAs[T common.Component](t testing.TB, m *Model) T {
	t.Helper()
	c, ok := m.Top().(T)
	if !ok {
		t.Fatalf("top screen is %T", m.Top())
	}
	return c
}

func TestDrillDownAndBack(t *testing.T) {
	f := &fake{uris: []string{"test:///one"}, parts: [][]model.Part{labHost()}, err: []error{nil}}
	m := newModel(t, f, common.Actions{})
	km := keys.Default()
	// One host: its pools open at once, hosts one Esc away.
	if l := topList(t, m); l.Kind() != "pools" || l.Table().Len() != 2 {
		t.Fatalf("start: %s with %d rows", l.Kind(), l.Table().Len())
	}
	press(t, m, km.Enter)
	l := topList(t, m)
	if l.Kind() != "volumes" || l.Scope().Pool != "default" || l.Table().Len() != 2 {
		t.Fatalf("after enter: %s %+v %d rows", l.Kind(), l.Scope(), l.Table().Len())
	}
	view := m.View().Content
	if !strings.Contains(view, "pools on test:///one › default") {
		t.Errorf("breadcrumbs missing:\n%s", view)
	}
	if !strings.Contains(view, "vm1:vdb") {
		t.Errorf("attachment not shown:\n%s", view)
	}
	press(t, m, km.Back)
	if topList(t, m).Kind() != "pools" {
		t.Error("esc did not go back to pools")
	}
	press(t, m, km.Back)
	press(t, m, km.Back) // Esc on the last screen stays
	if len(m.Stack()) != 1 || topList(t, m).Kind() != "hosts" {
		t.Errorf("stack %d, top %s", len(m.Stack()), topList(t, m).Kind())
	}
}

func TestFilterCapturesKeys(t *testing.T) {
	f := &fake{uris: []string{"test:///one"}, parts: [][]model.Part{labHost()}, err: []error{nil}}
	m := newModel(t, f, common.Actions{})
	km := keys.Default()
	press(t, m, km.Filter)
	// "q" would quit if the filter line did not capture it.
	typeText(t, m, "sq")
	l := topList(t, m)
	if l.Table().Filter() != "sq" {
		t.Fatalf("filter %q", l.Table().Filter())
	}
	// s…q: only the dir pool's "luks (qemu)" has a q.
	if k, _ := l.Table().SelectedKey(); l.Table().Len() != 1 || !strings.HasSuffix(k, "default") {
		t.Errorf("filter sq matches %d pools (%q)", l.Table().Len(), k)
	}
}

func TestPaletteCompletionAndHost(t *testing.T) {
	f := &fake{uris: []string{"test:///one", "test:///two"}, parts: [][]model.Part{labHost(), labHost()}, err: []error{nil, nil}}
	m := newModel(t, f, common.Actions{})
	km := keys.Default()
	press(t, m, km.Palette)
	typeText(t, m, "vo")
	if got := m.palette.Completions(); len(got) != 1 || got[0] != "volumes" {
		t.Fatalf("completions for vo: %v", got)
	}
	_, cmd := m.Update(keytest.Press(km.PaletteLine.Complete))
	drain(t, m, cmd)
	if m.palette.Input() != "volumes" {
		t.Errorf("tab → %q", m.palette.Input())
	}
	_, cmd = m.Update(keytest.Press(km.PaletteLine.Run))
	drain(t, m, cmd)
	if l := topList(t, m); l.Kind() != "volumes" || l.Table().Len() != 4 {
		t.Fatalf(":volumes → %s with %d rows", l.Kind(), l.Table().Len())
	}
	press(t, m, km.Palette)
	typeText(t, m, "host test:///t")
	_, cmd = m.Update(keytest.Press(km.PaletteLine.Run))
	drain(t, m, cmd)
	if l := topList(t, m); l.Kind() != "pools" || l.Scope().Host != 1 {
		t.Errorf(":host test:///two → %s %+v", l.Kind(), l.Scope())
	}
	m.Update(palette.CloseMsg{})
}

type stubScreen struct {
	common.Component
	title string
}

func (s *stubScreen) Title() string                              { return s.title }
func (s *stubScreen) Init() tea.Cmd                              { return nil }
func (s *stubScreen) SetSize(int, int)                           {}
func (s *stubScreen) Focus()                                     {}
func (s *stubScreen) Blur()                                      {}
func (s *stubScreen) View() string                               { return "wizard " + s.title }
func (s *stubScreen) ShortHelp() []key.Binding                   { return nil }
func (s *stubScreen) FullHelp() [][]key.Binding                  { return nil }
func (s *stubScreen) Update(tea.Msg) (common.Component, tea.Cmd) { return s, nil }

func TestActionKeysPushWizardsAndNilActionsVanish(t *testing.T) {
	f := &fake{uris: []string{"test:///one"}, parts: [][]model.Part{labHost()}, err: []error{nil}}
	var got common.DriveTarget
	acts := common.Actions{CreateDrive: func(at common.DriveTarget) common.Component {
		got = at
		return &stubScreen{title: "create drive"}
	}}
	m := newModel(t, f, acts)
	km := keys.Default()
	if !strings.Contains(m.HelpText(), km.CreateDrive.Help().Desc) {
		t.Errorf("create drive missing from help on a dir pool:\n%s", m.HelpText())
	}
	if strings.Contains(m.HelpText(), km.DeleteDrive.Help().Desc) || strings.Contains(m.HelpText(), km.LVMOnISCSI.Help().Desc) {
		t.Errorf("nil actions offered in help:\n%s", m.HelpText())
	}
	press(t, m, km.CreateDrive)
	if s, ok := m.Top().(*stubScreen); !ok || s.title != "create drive" {
		t.Fatalf("create-drive key pushed %T", m.Top())
	}
	if got.HostURI != "test:///one" || got.Pool != "default" {
		t.Errorf("wizard preset %+v", got)
	}
	if !strings.Contains(m.View().Content, "create drive") {
		t.Error("breadcrumbs lack the pushed wizard")
	}
	m.Update(common.PopMsg{})
	// iSCSI pool: creating is impossible, so the key is absent too.
	press(t, m, km.Down)
	if strings.Contains(m.HelpText(), km.CreateDrive.Help().Desc) {
		t.Error("create drive offered on an iscsi-direct pool")
	}
	press(t, m, km.CreateDrive)
	if _, ok := m.Top().(*list.Model); !ok {
		t.Error("create-drive key acted on an iscsi pool")
	}
}

func TestFirstRunAndNoPools(t *testing.T) {
	f := &fake{uris: []string{"qemu:///system"}, parts: [][]model.Part{nil},
		err: []error{errors.New("no libvirt socket at /run/libvirt/libvirt-sock: is libvirtd running?")}}
	m := newModel(t, f, common.Actions{})
	if !m.FirstRun() || !strings.Contains(m.View().Content, "systemctl start libvirtd") {
		t.Fatalf("first-run screen missing:\n%s", m.View().Content)
	}
	// A reachable host without pools offers a first pool.
	f2 := &fake{uris: []string{"test:///empty"}, parts: [][]model.Part{{{Kind: model.PartPools}}}, err: []error{nil}}
	m2 := newModel(t, f2, common.Actions{})
	v := m2.View().Content
	if m2.FirstRun() || !strings.Contains(v, "no storage pool yet") || !strings.Contains(v, "new dir pool") {
		t.Fatalf("no first-pool offer:\n%s", v)
	}
	press(t, m2, keys.Default().NewRBDPool)
	if !strings.Contains(m2.View().Content, "cephx key") {
		t.Errorf("rbd form not shown:\n%s", m2.View().Content)
	}
}

// capturingScreen stands for a wizard with a form or a running workflow.
type capturingScreen struct {
	stubScreen
	got []string
}

func (s *capturingScreen) Capturing() bool { return true }
func (s *capturingScreen) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		s.got = append(s.got, k.String())
	}
	return s, nil
}

// A screen that captures keys gets ctrl+c and q itself: a running drive
// workflow rolls back on ctrl+c, and a name field takes 'q' as text; the
// console must not quit under them.
func TestCapturingScreenKeepsQuitKeys(t *testing.T) {
	f := &fake{uris: []string{"test:///one"}, parts: [][]model.Part{labHost()}, err: []error{nil}}
	m := newModel(t, f, common.Actions{})
	s := &capturingScreen{stubScreen: stubScreen{title: "running"}}
	m.Update(common.PushMsg{Screen: s})
	km := keys.Default()
	for _, k := range km.Quit.Keys() {
		msg := tea.KeyPressMsg{Code: rune(k[len(k)-1]), Text: k}
		if k == "ctrl+c" {
			msg = tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
		}
		_, cmd := m.Update(msg)
		if cmd != nil {
			if _, quit := cmd().(tea.QuitMsg); quit {
				t.Fatalf("%s quit the console under a capturing screen", k)
			}
		}
	}
	if len(s.got) != len(km.Quit.Keys()) {
		t.Errorf("capturing screen got %v, want every quit key", s.got)
	}
}

// The poll timer refreshes every idle host and re-arms itself once; a
// stale tick (an older timer) does nothing.
func TestPollTickRefreshesAndRearms(t *testing.T) {
	f := &fake{uris: []string{"test:///one"}, parts: [][]model.Part{labHost()}, err: []error{nil}}
	m := newModel(t, f, common.Actions{})
	if n := f.streams.Load(); n != 1 {
		t.Fatalf("%d refreshes at start, want 1", n)
	}
	_, cmd := m.Update(tickMsg{m.ticks.Latest()})
	armed := drain(t, m, cmd)
	if n := f.streams.Load(); n != 2 || len(armed) != 1 {
		t.Fatalf("after a tick: %d refreshes (want 2), %d timers armed (want 1)", n, len(armed))
	}
	_, cmd = m.Update(armed[0].fire(time.Time{}))
	drain(t, m, cmd)
	if n := f.streams.Load(); n != 3 {
		t.Fatalf("the re-armed timer's tick: %d refreshes, want 3", n)
	}
	_, cmd = m.Update(tickMsg{common.Route{Owner: m.ticks.Latest().Owner, Req: m.ticks.Latest().Req - 1}})
	if cmd != nil || f.streams.Load() != 3 {
		t.Error("a stale tick refreshed")
	}
}

// A screen that closes with a result changed a host (a drive created or
// deleted, a pool built): the hosts are re-read at once, not at the next
// poll. Closing without a result reads nothing.
func TestPopWithResultRefreshes(t *testing.T) {
	f := &fake{uris: []string{"test:///one"}, parts: [][]model.Part{labHost()}, err: []error{nil}}
	m := newModel(t, f, common.Actions{})
	m.Update(common.PushMsg{Screen: &stubScreen{title: "wizard"}})
	_, cmd := m.Update(common.PopMsg{})
	drain(t, m, cmd)
	if n := f.streams.Load(); n != 1 {
		t.Fatalf("a pop without a result refreshed: %d refreshes", n)
	}
	m.Update(common.PushMsg{Screen: &stubScreen{title: "wizard"}})
	_, cmd = m.Update(common.PopMsg{Result: "drive created"})
	drain(t, m, cmd)
	if n := f.streams.Load(); n != 2 {
		t.Fatalf("a pop with a result: %d refreshes, want 2", n)
	}
}
