package data

import (
	"context"
	"errors"
	"fmt"
	"testing"

	tea "charm.land/bubbletea/v2"

	"stowage/model"
	"stowage/ui/common"
)

// fleet serves hosts with one pool each; the hosts in down fail to connect.
type fleet struct {
	oneHost
	n    int
	down map[int]bool
}

func (f fleet) URIs() []string {
	out := make([]string, f.n)
	for i := range out {
		out[i] = fmt.Sprintf("test:///host-%d", i)
	}
	return out
}

func (f fleet) Stream(_ context.Context, i int, _ model.StreamOptions, out chan<- model.Part) error {
	if f.down[i] {
		return errors.New("connection refused")
	}
	out <- model.Part{Kind: model.PartPools, Pools: []model.Pool{{Name: fmt.Sprintf("p%d", i)}}}
	return nil
}

func (f fleet) Status(i int) model.Status {
	if f.down[i] {
		return model.Status{State: model.StateDisconnected}
	}
	return model.Status{State: model.StateConnected}
}

// finish runs a refresh's Cmd to its end and returns the Cmd Update gave
// back for the DoneMsg.
func finish(t *testing.T, s *Store, cmd tea.Cmd) tea.Cmd {
	t.Helper()
	for msg := cmd(); ; {
		_, next := s.Update(msg)
		if _, done := msg.(DoneMsg); done {
			return next
		}
		msg = next()
	}
}

// run runs cmd and any Cmds it batches.
func run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	if b, ok := cmd().(tea.BatchMsg); ok {
		for _, c := range b {
			run(c)
		}
	}
}

// The store reports the fleet once, when the last host's first refresh
// ends, counting a host that answered with an error as answered but not
// connected; later refreshes report nothing more.
func TestFirstLoadReportsTheWholeFleetOnce(t *testing.T) {
	s := NewStore(fleet{n: 3, down: map[int]bool{1: true}}, 0)
	var got []FirstLoad
	s.OnFirstLoad = func(f FirstLoad) { got = append(got, f) }
	refreshes := []tea.Cmd{s.Refresh(0, false), s.Refresh(1, false), s.Refresh(2, false)}
	for i, cmd := range refreshes {
		run(finish(t, s, cmd))
		if i < 2 && len(got) != 0 {
			t.Fatalf("reported after %d of 3 hosts answered: %+v", i+1, got)
		}
	}
	if len(got) != 1 {
		t.Fatalf("reported %d times once all answered; want 1", len(got))
	}
	if f := got[0]; f.Hosts != 3 || f.Connected != 2 || f.Pools != 2 {
		t.Fatalf("reported %+v; want 3 hosts, 2 connected, 2 pools", f)
	}
	run(finish(t, s, s.Refresh(0, false)))
	if len(got) != 1 {
		t.Fatalf("a later refresh reported again (%d reports)", len(got))
	}
}

// Parts that arrived together come in one message (one Update and one
// redraw), in order, at most maxPartsPerMsg at a time; the stream's end
// still comes as its own DoneMsg.
func TestPartsThatArrivedTogetherShareAMessage(t *testing.T) {
	parts := make(chan model.Part, 2*maxPartsPerMsg)
	done := make(chan streamEnd, 1)
	for i := range maxPartsPerMsg + 6 {
		parts <- model.Part{Kind: model.PartPools, Pool: fmt.Sprint(i)}
	}
	close(parts)
	done <- streamEnd{}
	var got []string
	var msgs int
	for msg := next(0, common.Route{}, parts, done)(); ; msgs++ {
		pm, ok := msg.(PartMsg)
		if !ok {
			if _, end := msg.(DoneMsg); !end {
				t.Fatalf("got %T", msg)
			}
			break
		}
		if n := len(pm.Parts()); n > maxPartsPerMsg {
			t.Fatalf("a message of %d parts; want at most %d", n, maxPartsPerMsg)
		}
		for _, p := range pm.Parts() {
			got = append(got, p.Pool)
		}
		msg = next(0, pm.Route, pm.next, pm.done)()
	}
	if msgs != 2 || len(got) != maxPartsPerMsg+6 || got[0] != "0" || got[len(got)-1] != fmt.Sprint(maxPartsPerMsg+5) {
		t.Fatalf("%d messages carrying %d parts (%v…); want 2 carrying %d in order", msgs, len(got), got[:3], maxPartsPerMsg+6)
	}
}
