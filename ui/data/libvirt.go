package data

import (
	"context"
	"errors"
	"fmt"

	"stowage/libvirtx"
)

// Libvirt is the production Backend: one libvirtx.Session per host.
type Libvirt struct {
	sessions []*libvirtx.Session
}

// NewLibvirt makes sessions for the URIs; nothing is dialed yet.
func NewLibvirt(uris []string, o libvirtx.Options, b libvirtx.Backoff) *Libvirt {
	l := &Libvirt{}
	for _, u := range uris {
		l.sessions = append(l.sessions, libvirtx.NewSession(u, o, b))
	}
	return l
}

// URIs lists the hosts.
func (l *Libvirt) URIs() []string {
	out := make([]string, len(l.sessions))
	for i, s := range l.sessions {
		out[i] = s.URI
	}
	return out
}

// Status is a host's connection state.
func (l *Libvirt) Status(i int) libvirtx.Status { return l.sessions[i].Status() }

// Stream reads a refresh of host i, telling the session about timeouts so
// it marks the host degraded and redials.
func (l *Libvirt) Stream(ctx context.Context, i int, o libvirtx.StreamOptions, out chan<- libvirtx.Part) error {
	s := l.sessions[i]
	c, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	inner := make(chan libvirtx.Part)
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
func (l *Libvirt) Events(ctx context.Context, i int) (<-chan libvirtx.DomainEvent, error) {
	c, err := l.sessions[i].Conn(ctx)
	if err != nil {
		return nil, err
	}
	return c.DomainEvents(ctx)
}

// Describe fetches an object's XML.
func (l *Libvirt) Describe(ctx context.Context, i int, o Object) (string, error) {
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

// CreatePool makes a first pool.
func (l *Libvirt) CreatePool(ctx context.Context, i int, s libvirtx.PoolSpec, key []byte) error {
	c, err := l.sessions[i].Conn(ctx)
	if err != nil {
		return err
	}
	return c.CreatePool(ctx, s, key)
}

// Close drops every connection.
func (l *Libvirt) Close() {
	for _, s := range l.sessions {
		_ = s.Close()
	}
}

// TrustHostKey records the unknown SSH host key host i last met.
func (l *Libvirt) TrustHostKey(i int) error {
	var e *libvirtx.UnknownHostKeyError
	if err := l.sessions[i].Status().Err; err == nil || !errors.As(err, &e) {
		return fmt.Errorf("%s: no unknown SSH host key to trust", l.sessions[i].URI)
	}
	if err := libvirtx.TrustHostKey(e); err != nil {
		return err
	}
	l.sessions[i].RetryNow()
	return nil
}

// Conn returns host uri's connection (dialing it if needed), for the
// wizards that run their own workflows on the console's sessions.
func (l *Libvirt) Conn(ctx context.Context, uri string) (*libvirtx.Conn, error) {
	for _, s := range l.sessions {
		if s.URI == uri {
			return s.Conn(ctx)
		}
	}
	return nil, fmt.Errorf("host %s is not open in this console", uri)
}
