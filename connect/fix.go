package connect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"stowage/doctor"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
)

// Doctor is what the doctor needs beyond doctor.Libvirt's pure checks: the
// checks that make calls of their own and the fix that needs Ceph. cli
// builds it (it knows how to reach a host's Ceph); the console's Hosts and
// `stowage doctor` share it. Any field may be nil.
type Doctor struct {
	// Probes are the storage probes (an iscsi pool's target, a logical
	// pool's PVs); they may refresh pools, so a fix's re-check skips them.
	Probes func(ctx context.Context, c *libvirtx.Conn, h model.HostInfo) []model.Finding
	// Ceph runs the Ceph checks for the clusters h's rbd pools point at.
	Ceph func(ctx context.Context, c *libvirtx.Conn, h model.HostInfo) []model.Finding
	// BreakLock applies a break-lock fix on the cluster of h's pool that
	// holds the image; doctor.ErrNotApplied when the lock changed.
	BreakLock func(ctx context.Context, c *libvirtx.Conn, h model.HostInfo, a model.FixAction) error
}

// Diagnose is every check on host h read over c, most severe first.
func (d Doctor) Diagnose(ctx context.Context, c *libvirtx.Conn, h model.HostInfo) []model.Finding {
	fs := d.fixable(ctx, c, h)
	if d.Probes != nil {
		fs = append(fs, d.Probes(ctx, c, h)...)
	}
	model.SortFindings(fs)
	return fs
}

// fixable is the checks a fix is re-checked against: every check but
// the probes.
func (d Doctor) fixable(ctx context.Context, c *libvirtx.Conn, h model.HostInfo) []model.Finding {
	fs := doctor.Libvirt(h)
	for _, msg := range h.Errors {
		fs = append(fs, model.Finding{
			Severity: model.SeverityWarning, Object: "host " + h.URI, Check: "host.partial",
			Message:  "Part of the host could not be read, so the checks that need it were skipped: " + msg + ".",
			Evidence: msg,
		})
	}
	if d.Ceph != nil {
		fs = append(fs, d.Ceph(ctx, c, h)...)
	}
	return fs
}

// Fix applies fix a to host uri over c, as `stowage doctor --fix` and the
// console's findings screen do: from an inventory read now, and only
// while a finding of that read still asks for this fix (another admin may
// have fixed it, or put another pool in its place). value gives a
// set-secret's value, asked only once the fix is found needed; it is
// cleared before Fix returns. Every outcome goes to the audit log through
// r: ok, failed, or refused (doctor.ErrNotApplied in the error).
func (d Doctor) Fix(ctx context.Context, r plan.Runner, c *libvirtx.Conn, a model.FixAction, value func() ([]byte, error)) error {
	action := "doctor fix " + a.Kind
	refuse := func(err error) error { return r.Refuse(action, a.Target, err) }
	h := c.Inventory(ctx)
	found := doctor.Find(d.fixable(ctx, c, h), a.Kind, a.Target)
	if found == nil && len(h.Errors) > 0 {
		// A partial read proves nothing: say what could not be read.
		return refuse(fmt.Errorf("%s could not be read in full (%s), so stowage cannot confirm %s:%s is still needed: nothing done; try again: %w",
			h.URI, strings.Join(h.Errors, "; "), a.Kind, a.Target, doctor.ErrNotApplied))
	}
	if found == nil {
		return refuse(fmt.Errorf("no finding on %s asks for %s:%s any more (another admin may have fixed it): nothing done: %w", h.URI, a.Kind, a.Target, doctor.ErrNotApplied))
	}
	var secret []byte
	if a.Kind == model.FixSetSecret {
		var err error
		if secret, err = value(); err != nil {
			return refuse(fmt.Errorf("%v: %w", err, doctor.ErrNotApplied))
		}
		defer clear(secret)
	}
	start := time.Now()
	var err error
	switch {
	case a.Kind == model.FixBreakLock && d.BreakLock == nil:
		err = fmt.Errorf("breaking an RBD lock needs Ceph, which this stowage cannot reach: %w", doctor.ErrNotApplied)
	case a.Kind == model.FixBreakLock:
		err = d.BreakLock(ctx, c, h, *found.Action)
	default:
		err = doctor.ApplyLibvirt(ctx, c, h, *found.Action, secret)
	}
	if errors.Is(err, doctor.ErrNotApplied) {
		return refuse(err)
	}
	result := plan.ResultOK
	if err != nil {
		result = plan.ResultFailed
	}
	r.Record(action, a.Target, result, err, time.Since(start))
	if err != nil {
		return fmt.Errorf("%s %s: %w", action, a.Target, err)
	}
	return nil
}

// ApplyFix applies a doctor fix on host i for the console's findings
// screen (Doctor.Fix), on a connection of its own (never the session's,
// which a refresh may cancel). Under --readonly, or for another host, it
// is refused and audited. value (set-secret) is cleared before it returns.
func (l *Hosts) ApplyFix(ctx context.Context, i int, a model.FixAction, value []byte) error {
	defer clear(value)
	r := l.runner(i, nil)
	uri := l.sessions[i].URI
	action := "doctor fix " + a.Kind
	switch {
	case l.opts.ReadOnly:
		return r.Refuse(action, a.Target, fmt.Errorf("--readonly: fixes change the host; run the console without --readonly to apply %s:%s", a.Kind, a.Target))
	case a.Host != "" && a.Host != uri:
		return r.Refuse(action, a.Target, fmt.Errorf("the fix is for host %s, not %s: %w", a.Host, uri, doctor.ErrNotApplied))
	}
	c, err := libvirtx.DialOwned(ctx, uri, l.opts)
	if err != nil {
		return fmt.Errorf("%s %s: %w", action, a.Target, err)
	}
	defer c.Close()
	return l.Doctor.Fix(ctx, r, c, a, func() ([]byte, error) {
		if len(value) == 0 {
			return nil, errors.New("the secret's value is empty")
		}
		return value, nil
	})
}

// Diagnose runs every check on host i (the probes and Ceph's too, which
// the store's per-refresh findings leave out) on a connection of its own.
func (l *Hosts) Diagnose(ctx context.Context, i int) ([]model.Finding, error) {
	c, err := libvirtx.DialOwned(ctx, l.sessions[i].URI, l.opts)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return l.Doctor.Diagnose(ctx, c, c.Inventory(ctx)), nil
}
