package doctor

import (
	"context"
	"errors"
	"fmt"

	"stowage/model"
)

// LibvirtFixer is what the fixes need of a host (libvirtx.Conn has it).
type LibvirtFixer interface {
	// PoolIf acts on the pool called name only when check accepts the
	// UUID it has now.
	PoolIf(ctx context.Context, name string, act model.PoolAct, check func(uuid string) error) error
	// DefineLostSecret defines a private, persistent secret with this
	// UUID and usage and sets its value; it refuses (model.ErrNotTheSame)
	// when a secret of that UUID exists.
	DefineLostSecret(ctx context.Context, uuid, usageType, usageID string, value []byte) error
}

// ErrNotApplied marks a fix declined before anything changed: the
// finding is gone, or its object is another one now. Callers audit it as
// a refusal.
var ErrNotApplied = errors.New("fix not applied")

// Find returns the finding, among fs, whose fix is kind on target, or
// nil: the fix is applied only while a fresh diagnosis still asks for it.
func Find(fs []model.Finding, kind, target string) *model.Finding {
	for i, f := range fs {
		if a := f.Action; a != nil && a.Kind == kind && a.Target == target {
			return &fs[i]
		}
	}
	return nil
}

// ApplyLibvirt applies a libvirt fix a diagnosis of h asked for: a pool
// is started or marked autostart by the UUID h read (a pool another admin
// put in its place is left alone); a lost secret is re-defined with the
// UUID and usage the disk names and value (the caller clears it).
func ApplyLibvirt(ctx context.Context, l LibvirtFixer, h model.HostInfo, a model.FixAction, value []byte) error {
	switch a.Kind {
	case model.FixStartPool, model.FixAutostartPool:
		uuid := ""
		for _, p := range h.Pools {
			if p.Name == a.Target {
				uuid = p.UUID
			}
		}
		act := model.PoolActStart
		if a.Kind == model.FixAutostartPool {
			act = model.PoolActAutostartOn
		}
		return l.PoolIf(ctx, a.Target, act, func(got string) error {
			if got != uuid {
				return fmt.Errorf("pool %s is another pool now (UUID %s, diagnosed %s): %w", a.Target, got, uuid, ErrNotApplied)
			}
			return nil
		})
	case model.FixSetSecret:
		if len(value) == 0 {
			return fmt.Errorf("secret %s: the value is empty: %w", a.Target, ErrNotApplied)
		}
		err := l.DefineLostSecret(ctx, a.Target, a.Detail["usage"], a.Detail["usage_id"], value)
		if errors.Is(err, model.ErrNotTheSame) {
			return fmt.Errorf("%v: %w", err, ErrNotApplied)
		}
		return err
	}
	return fmt.Errorf("fix %s is not a libvirt fix: %w", a.Kind, ErrNotApplied)
}
