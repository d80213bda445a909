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

// ApplyFix applies a doctor fix on host i for the console's findings
// screen, as `stowage doctor --fix` does: on a connection of its own
// (never the session's, which a refresh may cancel), from an inventory
// read now, and only while a finding of that read still asks for this
// fix (another admin may have fixed it, or put another pool in its
// place). Under --readonly it is refused. Every outcome goes to the audit
// log through the plan runner: ok, failed, or refused. value (set-secret)
// is cleared before it returns.
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
	h := c.Inventory(ctx)
	found := doctor.Find(doctor.Libvirt(h), a.Kind, a.Target)
	if found == nil && len(h.Errors) > 0 {
		// A partial read proves nothing: say what could not be read.
		return r.Refuse(action, a.Target, fmt.Errorf("%s could not be read in full (%s), so stowage cannot confirm %s:%s is still needed: nothing done; try again: %w",
			uri, strings.Join(h.Errors, "; "), a.Kind, a.Target, doctor.ErrNotApplied))
	}
	if found == nil {
		return r.Refuse(action, a.Target, fmt.Errorf("no finding on %s asks for %s:%s any more (another admin may have fixed it): nothing done: %w", uri, a.Kind, a.Target, doctor.ErrNotApplied))
	}
	start := time.Now()
	err = doctor.ApplyLibvirt(ctx, c, h, *found.Action, value)
	if errors.Is(err, doctor.ErrNotApplied) {
		return r.Refuse(action, a.Target, err)
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
