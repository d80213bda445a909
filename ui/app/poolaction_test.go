package app

import (
	"context"
	"strings"
	"sync"
	"testing"

	"stowage/model"
	"stowage/plan"
	"stowage/pool"
	"stowage/ui/common"
	"stowage/ui/keys"
	"stowage/ui/poolaction"
)

// poolHost is one host with one persistent dir pool, running or not.
func poolHost(active bool) []model.Part {
	return []model.Part{
		{Kind: model.PartVersions, Lib: "9.0.0", HV: "7.2.0"},
		{Kind: model.PartPools, Pools: []model.Pool{{Name: "data", UUID: "u-1", Type: model.PoolDir, Active: active, Persistent: true}}},
		{Kind: model.PartDomains},
		{Kind: model.PartSecrets, Secrets: []model.SecretInfo{}},
	}
}

// poolFake acts on the app fake's host: a stop makes the next refresh
// read the pool stopped.
type poolFake struct {
	mu   sync.Mutex
	f    *fake
	runs []string
}

func (p *poolFake) Prepare(_ context.Context, s pool.Spec) (pool.Prepared, error) {
	return pool.Prepared{Spec: s, Host: "test:///one", Pool: model.Pool{Name: s.Pool, UUID: "u-1", Type: model.PoolDir},
		Steps: []model.Step{{ID: pool.StepStop, Title: "stop pool " + s.Pool}}}, nil
}

func (p *poolFake) Run(_ context.Context, pr pool.Prepared, confirm string, _ chan<- plan.Event) (pool.Result, error) {
	p.mu.Lock()
	p.runs = append(p.runs, pr.Spec.Verb()+" "+confirm)
	p.mu.Unlock()
	p.f.mu.Lock()
	p.f.parts[0] = poolHost(false)
	p.f.mu.Unlock()
	return pool.Result{Host: "test:///one", Pool: pr.Pool.Name, Changed: true}, nil
}

// TestPoolKeysFollowStateAndRunTheAction: a running pool offers stop,
// refresh, autostart, delete and undefine (not start or build); the stop
// key (dangerous) opens the typed confirmation, the name typed runs the
// stop, and closing the progress re-reads the host: the pool then shows
// stopped, with start and build offered instead.
func TestPoolKeysFollowStateAndRunTheAction(t *testing.T) {
	f := &fake{uris: []string{"test:///one"}, parts: [][]model.Part{poolHost(true)}, err: []error{nil}}
	pf := &poolFake{f: f}
	km := keys.Default()
	d := poolaction.Deps{Keys: km, Backend: func(string) (poolaction.Backend, error) { return pf, nil }}
	var opened []string
	acts := common.Actions{PoolAction: func(at common.DriveTarget, action string) common.Component {
		opened = append(opened, at.HostURI+" "+at.Pool+" "+action)
		return poolaction.New(d, at, action)
	}}
	m := newModel(t, f, acts)
	help := m.HelpText()
	for _, b := range []struct {
		name    string
		desc    string
		offered bool
	}{
		{"stop", km.PoolStop.Help().Desc, true}, {"refresh", km.PoolRefresh.Help().Desc, true},
		{"autostart", km.PoolAutostart.Help().Desc, true}, {"delete", km.PoolDelete.Help().Desc, true},
		{"undefine", km.PoolUndefine.Help().Desc, true},
		{"start", km.PoolStart.Help().Desc, false}, {"build", km.PoolBuild.Help().Desc, false},
	} {
		if strings.Contains(help, b.desc) != b.offered {
			t.Errorf("running pool: %s offered %v, want %v\n%s", b.name, !b.offered, b.offered, help)
		}
	}
	// They are in `?` (above), not in the one-line footer: the footer
	// keeps the global hints.
	if footer := m.View().Content; strings.Contains(footer, km.PoolStop.Help().Desc) || !strings.Contains(footer, km.Help.Help().Desc) {
		t.Errorf("footer: pool keys shown or the help hint pushed off:\n%s", footer)
	}
	press(t, m, km.PoolStop)
	scr, ok := m.Top().(*poolaction.Screen)
	if !ok {
		t.Fatalf("the stop key opened %T", m.Top())
	}
	if len(opened) != 1 || opened[0] != "test:///one data stop" {
		t.Fatalf("opened %q", opened)
	}
	typeText(t, m, "data")
	press(t, m, km.Confirm.Confirm)
	if len(pf.runs) != 1 || pf.runs[0] != "stop data" {
		t.Fatalf("runs %q\n%s", pf.runs, scr.View())
	}
	before := f.streams.Load()
	press(t, m, km.Progress.Close)
	if f.streams.Load() == before {
		t.Fatal("closing the action did not re-read the host")
	}
	help = m.HelpText()
	if !strings.Contains(help, km.PoolStart.Help().Desc) || strings.Contains(help, km.PoolStop.Help().Desc) {
		t.Errorf("after the stop, the keys do not follow the pool's state:\n%s", help)
	}
	press(t, m, km.PoolAutostart)
	if opened[len(opened)-1] != "test:///one data autostart" {
		t.Errorf("autostart key opened %q", opened[len(opened)-1])
	}
}

// Under --readonly the console wires no PoolAction: no pool key is
// offered, and pressing one opens nothing.
func TestPoolKeysVanishUnderReadOnly(t *testing.T) {
	f := &fake{uris: []string{"test:///one"}, parts: [][]model.Part{poolHost(false)}, err: []error{nil}}
	km := keys.Default()
	descs := []string{km.PoolStart.Help().Desc, km.PoolAutostart.Help().Desc, km.PoolBuild.Help().Desc,
		km.PoolDelete.Help().Desc, km.PoolUndefine.Help().Desc}
	// Wired, the stopped pool offers each of them: the check below can fail.
	wired := newModel(t, f, common.Actions{PoolAction: func(common.DriveTarget, string) common.Component { return nil }})
	m := newModelFrom(t, f, Deps{Keys: km, ReadOnly: true})
	for _, d := range descs {
		if !strings.Contains(wired.HelpText(), d) {
			t.Errorf("wired: %q not offered on a stopped pool:\n%s", d, wired.HelpText())
		}
		if strings.Contains(m.HelpText(), d) {
			t.Errorf("--readonly offers %q:\n%s", d, m.HelpText())
		}
	}
	top := m.Top()
	press(t, m, km.PoolStart)
	press(t, m, km.PoolDelete)
	if m.Top() != top {
		t.Fatalf("a pool key opened %T under --readonly", m.Top())
	}
}
