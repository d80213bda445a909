package pool

import (
	"context"
	"fmt"
	"sync"

	"stowage/model"
	"stowage/plan"
)

// fake is one host: pools by name, volumes, domains (live and config);
// the …If calls check the UUID as libvirtx does and record each call.
type fake struct {
	mu      sync.Mutex
	pools   map[string]*model.Pool
	vols    map[string][]string
	live    map[string]model.Domain
	config  map[string]model.Domain
	calls   []string
	failOn  string // a call name that fails
	domErr  error
	replace func() // runs at the first …If call (another admin in between)
}

func newFake(pools ...model.Pool) *fake {
	f := &fake{pools: map[string]*model.Pool{}, vols: map[string][]string{}, live: map[string]model.Domain{}, config: map[string]model.Domain{}}
	for _, p := range pools {
		p := p
		f.pools[p.Name] = &p
	}
	return f
}

func (f *fake) Pool(_ context.Context, name string) (model.Pool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pools[name]
	if !ok {
		return model.Pool{}, fmt.Errorf("pool %q: %w", name, model.ErrNotFound)
	}
	return *p, nil
}

func (f *fake) VolumeNames(_ context.Context, pool string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.pools[pool]; p == nil || !p.Active {
		return nil, fmt.Errorf("pool %q not active", pool)
	}
	return f.vols[pool], nil
}

func (f *fake) DomainNames(context.Context) ([]string, error) {
	if f.domErr != nil {
		return nil, f.domErr
	}
	var out []string
	for n := range f.config {
		out = append(out, n)
	}
	for n := range f.live {
		if _, ok := f.config[n]; !ok {
			out = append(out, n)
		}
	}
	return out, nil
}

func (f *fake) Domain(_ context.Context, name string, inactive bool) (model.Domain, error) {
	m := f.live
	if inactive {
		m = f.config
	}
	d, ok := m[name]
	if !ok {
		if !inactive {
			// A defined VM that is not running: libvirt's live XML is its config.
			if c, ok := f.config[name]; ok {
				c.State = "shut off"
				return c, nil
			}
		}
		return model.Domain{}, fmt.Errorf("domain %q: %w", name, model.ErrNotFound)
	}
	return d, nil
}

func (f *fake) act(call, name, uuid string, fn func(p *model.Pool) error) error {
	if f.replace != nil {
		r := f.replace
		f.replace = nil
		r()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var p *model.Pool
	for _, q := range f.pools {
		if q.UUID == uuid {
			p = q
		}
	}
	if p == nil || p.Name != name {
		return fmt.Errorf("%w: pool %s (uuid %s) is gone", plan.ErrNotOurs, name, uuid)
	}
	f.calls = append(f.calls, call+" "+uuid)
	if call == f.failOn {
		return fmt.Errorf("injected %s failure", call)
	}
	return fn(p)
}

func (f *fake) PoolStartIf(_ context.Context, name, uuid string) error {
	return f.act("start", name, uuid, func(p *model.Pool) error { p.Active = true; return nil })
}
func (f *fake) PoolStopIf(_ context.Context, name, uuid string) error {
	return f.act("stop", name, uuid, func(p *model.Pool) error { p.Active = false; return nil })
}
func (f *fake) PoolRefreshIf(_ context.Context, name, uuid string) error {
	return f.act("refresh", name, uuid, func(*model.Pool) error { return nil })
}
func (f *fake) PoolAutostartIf(_ context.Context, name, uuid string, on bool) error {
	return f.act(fmt.Sprintf("autostart=%v", on), name, uuid, func(p *model.Pool) error { p.Autostart = on; return nil })
}
func (f *fake) PoolBuildIf(_ context.Context, name, uuid string, overwrite, _ bool) error {
	return f.act(fmt.Sprintf("build overwrite=%v", overwrite), name, uuid, func(*model.Pool) error { return nil })
}
func (f *fake) PoolDeleteIf(_ context.Context, name, uuid string) error {
	return f.act("delete", name, uuid, func(*model.Pool) error { return nil })
}
func (f *fake) PoolUndefineIf(_ context.Context, name, uuid string) error {
	return f.act("undefine", name, uuid, func(p *model.Pool) error { delete(f.pools, p.Name); return nil })
}
