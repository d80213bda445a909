// Package connect owns the console's connections to its hosts: one
// libvirtx.Session per host (dialed on demand, redialed with backoff), the
// refresh stream, domain events, describe, the first-pool workflow,
// host-key trust, the doctor's fixes and the Ceph view's reads (ceph.go,
// the same gathering as `stowage inventory --ceph`). Hosts implements the
// console's Backend (ui/data) in model types only, so that ui never
// imports libvirtx or ceph.
//
// It imports libvirtx, ceph, doctor, model and plan; never ui, themes,
// lipgloss or bubbletea.
package connect

import (
	"context"
	"errors"
	"fmt"

	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
)

// Hosts is the console's production backend: one libvirtx.Session per host.
type Hosts struct {
	sessions []*libvirtx.Session
	opts     libvirtx.Options
	// Doctor is the doctor's checks and fixes beyond the pure ones
	// (cli sets it: the storage probes, Ceph, break-lock).
	Doctor Doctor
	// Plan is the template of the runner every mutation made here goes
	// through (audit log, logger; tests set FailAfter); Host and Events
	// are filled in per call.
	Plan plan.Runner
	// CephAccess reaches a host's Ceph for the Ceph view (nil: the view
	// says the console cannot read Ceph).
	CephAccess CephAccess
}

// runner is l.Plan for host i, sending its events to events (may be nil).
func (l *Hosts) runner(i int, events chan<- plan.Event) plan.Runner {
	r := l.Plan
	r.Host, r.Events = l.sessions[i].URI, events
	return r
}

// New makes sessions for the URIs; nothing is dialed yet.
func New(uris []string, o libvirtx.Options, b libvirtx.Backoff) *Hosts {
	l := &Hosts{opts: o}
	for _, u := range uris {
		l.sessions = append(l.sessions, libvirtx.NewSession(u, o, b))
	}
	return l
}

// URIs lists the hosts.
func (l *Hosts) URIs() []string {
	out := make([]string, len(l.sessions))
	for i, s := range l.sessions {
		out[i] = s.URI
	}
	return out
}

// Status is a host's connection state.
func (l *Hosts) Status(i int) model.Status { return l.sessions[i].Status() }

// Stream reads a refresh of host i, telling the session about timeouts so
// it marks the host degraded and redials.
func (l *Hosts) Stream(ctx context.Context, i int, o model.StreamOptions, out chan<- model.Part) error {
	s := l.sessions[i]
	c, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	inner := make(chan model.Part)
	go func() {
		c.Stream(ctx, o, inner)
		close(inner)
	}()
	var timedOut error
	for p := range inner {
		if p.Err != nil && errors.Is(p.Err, libvirtx.ErrTimeout) && timedOut == nil {
			timedOut = p.Err
		}
		select {
		case out <- p:
		case <-ctx.Done():
		}
	}
	s.Report(timedOut)
	if timedOut != nil {
		return timedOut
	}
	return nil
}

// Events subscribes to domain lifecycle events on the current connection.
func (l *Hosts) Events(ctx context.Context, i int) (<-chan model.DomainEvent, error) {
	c, err := l.sessions[i].Conn(ctx)
	if err != nil {
		return nil, err
	}
	return c.DomainEvents(ctx)
}

// Describe fetches an object's XML.
func (l *Hosts) Describe(ctx context.Context, i int, o model.Object) (string, error) {
	c, err := l.sessions[i].Conn(ctx)
	if err != nil {
		return "", err
	}
	switch o.Kind {
	case "host":
		return c.PoolCapsXML(ctx)
	case "pool":
		return c.PoolDescXML(ctx, o.Name)
	case "volume":
		return c.VolumeDescXML(ctx, o.Pool, o.Name)
	case "domain":
		return c.DomainXML(ctx, o.Name)
	case "secret":
		return c.SecretXML(ctx, o.Name)
	}
	return "", fmt.Errorf("cannot describe a %s", o.Kind)
}

// CreatePool makes a first pool through the plan runner (audited, undone
// by identity on failure), sending its progress to events (closed by the
// caller). key (rbd: the raw cephx key) is cleared before it returns.
func (l *Hosts) CreatePool(ctx context.Context, i int, s model.PoolSpec, key []byte, events chan<- plan.Event) error {
	defer clear(key)
	// The workflow owns its connection (redialed if its socket dies, so
	// the rollback still runs): the session's is cut whenever a refresh
	// is cancelled, which must not cut a pool half made.
	c, err := libvirtx.DialOwned(ctx, l.sessions[i].URI, l.opts)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.CreatePool(ctx, l.runner(i, events), s, key)
	return err
}

// Close drops every connection.
func (l *Hosts) Close() {
	for _, s := range l.sessions {
		_ = s.Close()
	}
}

// StepTrustHostKey is host-key trust's one step.
const StepTrustHostKey model.StepID = "trust-host-key"

// TrustHostKey records in known_hosts exactly the key shown to the admin
// (shown), and only while host i's latest dial still meets that key: a
// server whose key changed since the screen showed it, or another hop
// asking, is refused (audited) and nothing is written. The trust runs
// through the plan runner, so it is audited with its fingerprint; its undo
// removes exactly the line written.
func (l *Hosts) TrustHostKey(i int, shown *model.UnknownHostKeyError) error {
	r := l.runner(i, nil)
	uri := l.sessions[i].URI
	if shown == nil {
		return r.Refuse("trust host key", uri, fmt.Errorf("%s: no unknown SSH host key was shown to trust", uri))
	}
	object := fmt.Sprintf("%s: %s %s %s", uri, shown.Subject(), shown.KeyType, shown.Fingerprint)
	var latest *model.UnknownHostKeyError
	if err := l.sessions[i].Status().Err; err != nil {
		errors.As(err, &latest)
	}
	if !shown.SameKey(latest) {
		// The same check TrustHostKey makes, here so that the refusal is
		// audited as one.
		_, err := libvirtx.TrustHostKey(shown, latest)
		if err == nil {
			err = fmt.Errorf("trust host key %s: %w", shown.Subject(), model.ErrHostKeyNotShown)
		}
		return r.Refuse("trust host key", object, err)
	}
	_, err := r.Run(context.Background(), []plan.Action{{
		Step:  model.Step{ID: StepTrustHostKey, Title: "trust " + shown.Subject() + " " + shown.Fingerprint},
		Audit: "trust host key", Object: object,
		Do: func(context.Context, plan.Report) (plan.Made, error) {
			t, err := libvirtx.TrustHostKey(shown, latest)
			if err != nil {
				return plan.Made{}, err
			}
			return plan.Made{What: "known_hosts line for " + shown.Host + " in " + t.File, Identity: shown.Fingerprint,
				Command: fmt.Sprintf("ssh-keygen -R '%s' -f '%s'", shown.Host, t.File),
				Undo:    func(context.Context) error { return libvirtx.UntrustHostKey(t) }}, nil
		},
	}})
	if err != nil {
		return err
	}
	l.sessions[i].RetryNow()
	return nil
}

// RetryNow forgets host i's backoff, so that its next dial is made at once.
func (l *Hosts) RetryNow(i int) { l.sessions[i].RetryNow() }

// Conn returns host uri's connection (dialing it if needed), for the
// wizards that run their own workflows on the console's sessions.
func (l *Hosts) Conn(ctx context.Context, uri string) (*libvirtx.Conn, error) {
	for _, s := range l.sessions {
		if s.URI == uri {
			return s.Conn(ctx)
		}
	}
	return nil, fmt.Errorf("host %s is not open in this console", uri)
}
