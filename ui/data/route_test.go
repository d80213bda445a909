package data

import (
	"context"
	"errors"
	"testing"

	"stowage/model"
	"stowage/plan"

	tea "charm.land/bubbletea/v2"
)

// oneHost serves one host whose refresh is one pools part (unit tests).
type oneHost struct{ pools []model.Pool }

func (oneHost) URIs() []string { return []string{"test:///one"} }
func (h oneHost) Stream(_ context.Context, _ int, _ model.StreamOptions, out chan<- model.Part) error {
	out <- model.Part{Kind: model.PartPools, Pools: h.pools}
	return nil
}
func (oneHost) Status(int) model.Status { return model.Status{State: model.StateConnected} }
func (oneHost) Events(context.Context, int) (<-chan model.DomainEvent, error) {
	return nil, errors.New("no events")
}
func (oneHost) Describe(context.Context, int, Object) (string, error) { return "", nil }
func (oneHost) CreatePool(context.Context, int, model.PoolSpec, []byte, chan<- plan.Event) error {
	return nil
}
func (oneHost) TrustHostKey(int, *model.UnknownHostKeyError) error { return nil }
func (oneHost) ApplyFix(context.Context, int, model.FixAction, []byte) error {
	return errors.New("no fixes")
}
func (oneHost) Diagnose(context.Context, int) ([]model.Finding, error) {
	return nil, errors.New("no doctor")
}

// A refresh's results carry its Route: once a newer refresh started, the
// older one's parts are drained but dropped and its end is ignored; a
// domains-only refresh joins the current refresh.
func TestOlderRefreshIsStale(t *testing.T) {
	s := NewStore(oneHost{pools: []model.Pool{{Name: "p"}}}, 0)
	older := s.Refresh(0, false)
	newer := s.Refresh(0, false)
	part := older().(PartMsg)
	changed, cont := s.Update(part)
	if changed || cont == nil {
		t.Fatalf("a stale part: changed %v, continued %v (want dropped but drained)", changed, cont != nil)
	}
	if changed, _ := s.Update(cont().(DoneMsg)); changed || !s.Hosts[0].Loading {
		t.Fatal("a stale refresh's end finished the newer refresh")
	}
	latest := newer().(PartMsg)
	if latest.Route == part.Route {
		t.Fatal("two refreshes share a route")
	}
	if p := s.Refresh(0, true)().(PartMsg); p.Route != latest.Route {
		t.Fatalf("a domains-only refresh has route %+v, want the current refresh's %+v", p.Route, latest.Route)
	}
	if changed, _ := s.Update(latest); !changed || len(s.Hosts[0].Info.Pools) != 1 {
		t.Fatal("the latest refresh's part was dropped")
	}
}

// A refresh that brings back what the store holds changes nothing the
// screens show: neither its parts nor its end ask them to redraw (a
// 10,000-volume pool is polled every few seconds). A part that differs does.
func TestRepeatedRefreshChangesNothing(t *testing.T) {
	s := NewStore(oneHost{pools: []model.Pool{{Name: "p", Capacity: 10}}}, 0)
	run := func() (parts, end bool) {
		msg := s.Refresh(0, false)()
		for {
			switch m := msg.(type) {
			case PartMsg:
				changed, cont := s.Update(m)
				parts = parts || changed
				msg = cont()
			case DoneMsg:
				end, _ = s.Update(m)
				return parts, end
			default:
				t.Fatalf("unexpected %T", msg)
			}
		}
	}
	if parts, end := run(); !parts || !end {
		t.Fatalf("first refresh: parts changed %v, end changed %v; want both", parts, end)
	}
	if parts, end := run(); parts || end {
		t.Errorf("repeated refresh: parts changed %v, end changed %v; want neither", parts, end)
	}
	// A screen waiting for a fresh read (diagnose) hears of its end even
	// when it changed nothing.
	s.Hosts[0].Want = s.Hosts[0].Reads + 1
	if _, end := run(); !end {
		t.Error("the awaited read ended unchanged: no change reported, the waiting screen would wait for ever")
	}
	s.backend = oneHost{pools: []model.Pool{{Name: "p", Capacity: 20}}}
	if parts, _ := run(); !parts {
		t.Error("a pool that grew: no change")
	}
}

// heldHost's refreshes wait for release and hand their context to ctxs.
type heldHost struct {
	oneHost
	ctxs    chan context.Context
	release chan struct{}
}

func (h heldHost) Stream(ctx context.Context, i int, o model.StreamOptions, out chan<- model.Part) error {
	h.ctxs <- ctx
	<-h.release
	return h.oneHost.Stream(ctx, i, o, out)
}

// A newer refresh does not cancel the older one: cancelling it would cut
// the host's one connection under every call in flight, the newer
// refresh's too (libvirtx ends a call early only by closing its socket).
func TestNewerRefreshLeavesTheOlderRunning(t *testing.T) {
	h := heldHost{ctxs: make(chan context.Context, 2), release: make(chan struct{})}
	s := NewStore(h, 0)
	first, second := s.Refresh(0, false), s.Refresh(0, false)
	ended := make(chan tea.Msg, 2)
	go func() { ended <- first() }()
	go func() { ended <- second() }()
	a, b := <-h.ctxs, <-h.ctxs
	if a.Err() != nil || b.Err() != nil {
		t.Fatalf("a refresh's context ended while it ran: %v, %v", a.Err(), b.Err())
	}
	close(h.release)
	<-ended
	<-ended
}
