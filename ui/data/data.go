// Package data is the console's view of its hosts: the Backend interface
// through which every libvirt call is made (as tea.Cmds, never inside
// Update or View), the Store that Update applies results to, and the
// messages that carry them, tagged with a host and a common.Route (one
// Requests per host for refreshes, one for event subscriptions, one for
// Ceph reads: ceph.go, behind the CephReader capability) so stale results
// are dropped: the console's one routing idiom (ui/common). It
// speaks model types (package connect implements Backend over libvirtx)
// and imports bubbletea and ui/common (for Route alone); never libvirtx,
// lipgloss, themes or another ui package.
package data

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	tea "charm.land/bubbletea/v2"

	"stowage/doctor"
	"stowage/model"
	"stowage/plan"
	"stowage/ui/common"
)

// Object names something `d` can describe (model.Object).
type Object = model.Object

// Backend is what the console needs of its hosts (libvirt in production,
// a fake in unit tests).
type Backend interface {
	URIs() []string
	// Stream reads one refresh of a host into out; it returns when done
	// (the connection error, if it could not even connect).
	Stream(ctx context.Context, host int, o model.StreamOptions, out chan<- model.Part) error
	// Status is the host's connection state.
	Status(host int) model.Status
	// Events streams domain lifecycle events until ctx ends or the
	// connection drops.
	Events(ctx context.Context, host int) (<-chan model.DomainEvent, error)
	// Describe returns an object's XML.
	Describe(ctx context.Context, host int, o Object) (string, error)
	// CreatePool makes a first pool, sending the plan's progress to events
	// (the caller closes it after the call); key is the raw cephx key for
	// rbd, cleared before CreatePool returns.
	CreatePool(ctx context.Context, host int, s model.PoolSpec, key []byte, events chan<- plan.Event) error
	// TrustHostKey records shown, the unknown SSH host key the screen
	// showed for host, only while the host's last dial still met exactly
	// that key (else it refuses), and lets the next refresh dial at once.
	TrustHostKey(host int, shown *model.UnknownHostKeyError) error
	// ApplyFix applies a doctor fix on host: on a fresh connection, from
	// a fresh inventory, and only while a finding there still asks for it
	// (else it refuses, doctor.ErrNotApplied). Every outcome is audited,
	// a refusal too (always under --readonly). value is set-secret's
	// value, cleared before ApplyFix returns.
	ApplyFix(ctx context.Context, host int, a model.FixAction, value []byte) error
	// Diagnose runs every doctor check on host, the ones that make calls
	// of their own too (storage probes, Ceph), on a connection of its own.
	Diagnose(ctx context.Context, host int) ([]model.Finding, error)
}

// UnknownHostKey is the SSH host key a host's last dial did not know.
func UnknownHostKey(h Host) *model.UnknownHostKeyError {
	var e *model.UnknownHostKeyError
	if h.Err != nil && errors.As(h.Err, &e) {
		return e
	}
	if h.Status.Err != nil && errors.As(h.Status.Err, &e) {
		return e
	}
	return nil
}

// TrustMsg reports the outcome of trusting a host key.
type TrustMsg struct {
	Host int
	Err  error
}

// Trust records host i's unknown key as a Cmd, then the root refreshes.
// The key is taken here, on the Update goroutine, from the store the
// screen renders: the one whose fingerprint was shown, not whatever a
// later redial meets.
func (s *Store) Trust(i int) tea.Cmd {
	b := s.backend
	shown := UnknownHostKey(s.Hosts[i])
	return func() tea.Msg { return TrustMsg{Host: i, Err: b.TrustHostKey(i, shown)} }
}

// Host is one host as the console knows it.
type Host struct {
	URI    string
	Status model.Status
	Info   model.HostInfo
	// Loaded is true once a refresh finished (even with errors).
	Loaded  bool
	Loading bool
	// Err is the last refresh's connection error.
	Err error
	// Findings are what the doctor's libvirt checks (doctor.Libvirt) find
	// in Info, worked out when a refresh completes: not per part (a half
	// read host is not diagnosed), not per frame. A failed refresh keeps
	// the last ones.
	Findings []model.Finding
	// Reads counts completed refreshes: a screen that asked for fresh
	// data waits until it passes the count it saw when it asked, and sets
	// Want to that next count, so that the read's end reaches the screens
	// even when it changed nothing (an idle host's refresh otherwise ends
	// quietly).
	Reads, Want uint64
	// Answered is true once a refresh ended, loaded or failed.
	Answered bool

	// refreshes numbers full refreshes: a newer one makes the older's
	// parts stale (a domains-only refresh joins the current one).
	refreshes common.Requests
	// events is true while a domain event subscription is live;
	// subscriptions tells its messages from an older subscription's.
	events        bool
	subscriptions common.Requests
}

// Store holds every host. The root model owns it; screens read it.
type Store struct {
	Hosts   []Host
	backend Backend
	timeout time.Duration
	// ceph is each host's Ceph view data (ceph.go), read on demand.
	ceph []*Ceph
	// OnFirstLoad, when set, is called (from a Cmd, never in Update) once
	// every host's first refresh has ended: the moment the console first
	// shows the whole fleet, which stowage logs for admins.
	OnFirstLoad func(FirstLoad)
	started     time.Time
	answered    int
}

// FirstLoad is the fleet as the console first showed it whole: how long
// after the store was made the last host's first refresh ended, and how
// many hosts ended it connected (the others answered with an error).
type FirstLoad struct {
	Hosts, Connected, Pools int
	Elapsed                 time.Duration
}

// NewStore prepares a store for the backend's hosts.
func NewStore(b Backend, timeout time.Duration) *Store {
	s := &Store{backend: b, timeout: timeout, started: time.Now()}
	for _, u := range b.URIs() {
		s.Hosts = append(s.Hosts, Host{URI: u, Status: model.Status{State: model.StateConnecting},
			Info: model.HostInfo{URI: u}})
	}
	return s
}

// Backend returns the store's backend (for screens' Cmds).
func (s *Store) Backend() Backend { return s.backend }

// Timeout bounds one-shot calls (describe, create pool).
func (s *Store) Timeout() time.Duration { return s.timeout }

// PartMsg carries one part of a host's refresh. Its Route names the
// host's refresh it belongs to; the root hands it to the store, never to a
// screen.
type PartMsg struct {
	common.Route
	Host int
	Part model.Part
	// More are the parts that had arrived too by the time Part was read:
	// one message (one Update, one redraw) for a burst, not one each. A
	// fleet's first load sends about a dozen parts per host, and the
	// console redraws after every message.
	More []model.Part
	next <-chan model.Part
	done <-chan streamEnd
}

// Parts are the message's parts in the order they arrived.
func (m PartMsg) Parts() []model.Part { return append([]model.Part{m.Part}, m.More...) }

// maxPartsPerMsg bounds a burst, so a host streaming thousands of volume
// parts still lets the screen redraw as they come.
const maxPartsPerMsg = 64

type streamEnd struct {
	err    error
	status model.Status
}

// DoneMsg ends a host's refresh.
type DoneMsg struct {
	common.Route
	Host   int
	Err    error
	Status model.Status
}

// ChangedMsg tells screens that a host's data changed.
type ChangedMsg struct{ Host int }

// EventMsg is a domain lifecycle event.
type EventMsg struct {
	common.Route
	Host  int
	Event model.DomainEvent
	next  <-chan model.DomainEvent
}

// EventsEndedMsg says a host's event stream closed (connection lost).
type EventsEndedMsg struct {
	common.Route
	Host int
}

// Refresh starts a refresh of host i. Pools whose sizes and volume names
// did not change keep their volume details (cheap polling); domainsOnly
// re-reads the VMs alone. A newer refresh makes older results stale, but
// does not cancel the older one: it runs to its end and its results are
// dropped. Cancelling it would cut the host's one connection under every
// call in flight on it (libvirtx cuts the socket to end a call early; a
// go-libvirt call cannot be abandoned otherwise), the newer refresh's
// calls included, and leave the host "connection lost" until the next
// poll: seen when a fix's re-read and the findings screen's re-read
// started together.
func (s *Store) Refresh(i int, domainsOnly bool) tea.Cmd {
	if i < 0 || i >= len(s.Hosts) {
		return nil
	}
	h := &s.Hosts[i]
	route := h.refreshes.Latest()
	if !domainsOnly {
		route = h.refreshes.New()
		h.Loading = true
	}
	// Summarised here, on the Update goroutine: the stream's goroutine
	// calls KeepVolumes while Update keeps writing the live pools (Link
	// rewrites every volume's attachments), so it must not read them.
	opts := model.StreamOptions{DomainsOnly: domainsOnly, KeepVolumes: unchangedPool(summarisePools(h.Info.Pools))}
	ctx, cancel := context.WithCancel(context.Background())
	b := s.backend
	parts := make(chan model.Part, 64)
	done := make(chan streamEnd, 1)
	go func() {
		err := b.Stream(ctx, i, opts, parts)
		close(parts)
		done <- streamEnd{err: err, status: b.Status(i)}
		cancel()
	}()
	return next(i, route, parts, done)
}

// poolSummary is what unchangedPool compares: a pool's sizes and the
// names of its volumes, nil when any volume's details are not loaded yet.
type poolSummary struct {
	capacity, allocation, available uint64
	names                           map[string]struct{}
}

func summarisePools(pools []model.PoolInfo) map[string]poolSummary {
	out := make(map[string]poolSummary, len(pools))
	for _, p := range pools {
		sum := poolSummary{capacity: p.Capacity, allocation: p.Allocation, available: p.Available,
			names: make(map[string]struct{}, len(p.Volumes))}
		for _, v := range p.Volumes {
			if !v.Loaded {
				sum.names = nil
				break
			}
			sum.names[v.Name] = struct{}{}
		}
		out[p.Name] = sum
	}
	return out
}

// unchangedPool decides which pools need no volume re-read: same sizes and
// the same volume names as last time, with details already loaded. It
// reads only prev, which nothing else holds.
func unchangedPool(prev map[string]poolSummary) func(p model.Pool, names []string) bool {
	return func(p model.Pool, names []string) bool {
		old, ok := prev[p.Name]
		if !ok || old.names == nil || old.capacity != p.Capacity || old.allocation != p.Allocation || old.available != p.Available || len(old.names) != len(names) {
			return false
		}
		for _, n := range names {
			if _, ok := old.names[n]; !ok {
				return false
			}
		}
		return true
	}
}

func next(i int, route common.Route, parts <-chan model.Part, done <-chan streamEnd) tea.Cmd {
	return func() tea.Msg {
		p, ok := <-parts
		if !ok {
			e := <-done
			return DoneMsg{Route: route, Host: i, Err: e.err, Status: e.status}
		}
		msg := PartMsg{Route: route, Host: i, Part: p, next: parts, done: done}
		for len(msg.More) < maxPartsPerMsg-1 {
			select {
			case q, ok := <-parts:
				if !ok {
					// Still closed at the next read, which ends the stream.
					return msg
				}
				msg.More = append(msg.More, q)
			default:
				return msg
			}
		}
		return msg
	}
}

// Update applies backend results; changed reports whether screens should
// redraw from the store, cmd continues the stream.
func (s *Store) Update(msg tea.Msg) (changed bool, cmd tea.Cmd) {
	switch msg := msg.(type) {
	case PartMsg:
		if msg.Host >= len(s.Hosts) {
			return false, nil
		}
		cont := next(msg.Host, msg.Route, msg.next, msg.done)
		h := &s.Hosts[msg.Host]
		if !h.refreshes.Current(msg.Route) {
			return false, cont // stale: drain it, drop the data
		}
		changed := false
		for _, p := range msg.Parts() {
			if h.Status.State != model.StateConnected && p.Err == nil {
				h.Status = model.Status{State: model.StateConnected}
				changed = true
			}
			// A part that repeats what the host holds (every poll of an
			// idle host) changes nothing a screen shows: no re-link, no
			// redraw of the rows, no second copy of them on the heap.
			if h.Info.Apply(p) {
				changed = true
			}
		}
		if changed {
			h.Info.Link()
		}
		return changed, cont
	case DoneMsg:
		if msg.Host >= len(s.Hosts) || !s.Hosts[msg.Host].refreshes.Current(msg.Route) {
			return false, nil
		}
		h := &s.Hosts[msg.Host]
		// The end of a refresh changes what screens show unless it ends
		// as the last one did: loaded, connected, no error anywhere.
		changed := !(h.Loaded && msg.Err == nil && h.Err == nil && msg.Status.Err == nil && h.Status.Err == nil &&
			msg.Status.State == h.Status.State && msg.Status.Reason == h.Status.Reason &&
			msg.Status.NextRetry.Equal(h.Status.NextRetry) && len(h.Info.Errors) <= 5)
		h.Loading, h.Err, h.Status = false, msg.Err, msg.Status
		h.Reads++
		if h.Reads == h.Want {
			changed = true
		}
		if msg.Err == nil {
			h.Loaded = true
			fs := doctor.Libvirt(h.Info)
			if !slices.EqualFunc(fs, h.Findings, sameFinding) {
				changed = true
			}
			h.Findings = fs
			// Errors of this refresh only: keep the last few.
			if n := len(h.Info.Errors); n > 5 {
				h.Info.Errors = h.Info.Errors[n-5:]
			}
		}
		var cmd tea.Cmd
		if msg.Err == nil && !h.events && h.Status.State == model.StateConnected {
			h.events = true
			cmd = s.subscribe(msg.Host, h.subscriptions.New())
		}
		if !h.Answered {
			h.Answered = true
			changed = true
			s.answered++
			if s.answered == len(s.Hosts) && s.OnFirstLoad != nil {
				cmd = tea.Batch(cmd, s.firstLoaded())
			}
		}
		return changed, cmd
	case EventMsg:
		if msg.Host >= len(s.Hosts) {
			return false, nil
		}
		// Domain lifecycle: the VMs are re-read at once; keep listening.
		return false, tea.Batch(s.Refresh(msg.Host, true), nextEvent(msg.Host, msg.Route, msg.next))
	case EventsEndedMsg:
		if msg.Host < len(s.Hosts) && s.Hosts[msg.Host].subscriptions.Current(msg.Route) {
			s.Hosts[msg.Host].events = false
		}
	}
	return false, nil
}

// firstLoaded reports the first whole view of the fleet, summarised here
// on the Update goroutine.
func (s *Store) firstLoaded() tea.Cmd {
	f := FirstLoad{Hosts: len(s.Hosts), Elapsed: time.Since(s.started)}
	for _, h := range s.Hosts {
		if h.Err == nil && h.Status.State == model.StateConnected {
			f.Connected++
		}
		f.Pools += len(h.Info.Pools)
	}
	report := s.OnFirstLoad
	return func() tea.Msg {
		report(f)
		return nil
	}
}

func (s *Store) subscribe(i int, route common.Route) tea.Cmd {
	b := s.backend
	return func() tea.Msg {
		// The subscription lives as long as the connection; its
		// registration call is bounded by the connection's timeout.
		ch, err := b.Events(context.Background(), i)
		if err != nil {
			return EventsEndedMsg{Route: route, Host: i}
		}
		return nextEvent(i, route, ch)()
	}
}

func nextEvent(i int, route common.Route, ch <-chan model.DomainEvent) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return EventsEndedMsg{Route: route, Host: i}
		}
		return EventMsg{Route: route, Host: i, Event: ev, next: ch}
	}
}

// OpenFindings counts the findings at warning or above on hosts (all of
// them when hosts is nil), and how many of those are critical.
func (s *Store) OpenFindings(hosts []int) (open, critical int) {
	if hosts == nil {
		for i := range s.Hosts {
			hosts = append(hosts, i)
		}
	}
	for _, i := range hosts {
		for _, f := range s.Hosts[i].Findings {
			if f.Severity >= model.SeverityWarning {
				open++
			}
			if f.Severity >= model.SeverityCritical {
				critical++
			}
		}
	}
	return open, critical
}

// Describe fetches an object's XML as a Cmd.
func (s *Store) Describe(i int, o Object, reply func(string, error) tea.Msg) tea.Cmd {
	b, timeout := s.backend, s.timeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		x, err := b.Describe(ctx, i, o)
		return reply(x, err)
	}
}

// Diagnose runs the backend's whole diagnosis of host i as a Cmd. It
// makes several calls (the Ceph checks reach each cluster), each bounded
// by the timeout, so the whole is bounded by four of them.
func (s *Store) Diagnose(i int, reply func([]model.Finding, error) tea.Msg) tea.Cmd {
	b, timeout := s.backend, 4*s.timeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		fs, err := b.Diagnose(ctx, i)
		return reply(fs, err)
	}
}

// VirshCommands are the virsh commands that show the same object.
func VirshCommands(uri string, o Object) []string {
	v := "virsh -c " + uri + " "
	switch o.Kind {
	case "host":
		return []string{v + "version", v + "pool-capabilities", v + "pool-list --all --details"}
	case "pool":
		return []string{v + "pool-dumpxml " + o.Name, v + "pool-info " + o.Name, v + "vol-list --details " + o.Name}
	case "volume":
		return []string{v + fmt.Sprintf("vol-dumpxml --pool %s %s", o.Pool, o.Name), v + fmt.Sprintf("vol-info --pool %s %s", o.Pool, o.Name)}
	case "domain":
		return []string{v + "dumpxml " + o.Name, v + "domblklist --details " + o.Name, v + "domstate " + o.Name}
	case "secret":
		return []string{v + "secret-dumpxml " + o.Name, v + "secret-list"}
	}
	return nil
}

// sameFinding compares what a findings screen shows of two findings.
func sameFinding(a, b model.Finding) bool {
	return a.Severity == b.Severity && a.Check == b.Check && a.Object == b.Object && a.Message == b.Message &&
		a.Evidence == b.Evidence && a.Fix == b.Fix
}
