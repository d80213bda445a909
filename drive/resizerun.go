package drive

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"stowage/model"
	"stowage/plan"
)

// Resize runs a prepared resize. It first reads the drive again and
// refuses (audited, nothing changed) when another admin changed it since
// it was checked: another volume under the name, another size, other VMs
// holding it open. Acting on a fresh size the admin never saw could turn
// a grow into a shrink, so stowage asks again instead.
//
// The resize itself cannot be undone (stowage never shrinks to roll
// back): its step is marked Irreversible, and a failure at or after it
// reports the sizes libvirt and the VM see at that moment.
func Resize(ctx context.Context, d Deps, p ResizePrepared, events chan<- Event) (Result, error) {
	d = d.withDefaults()
	t := p.Target
	obj := t.Pool.Name + "/" + t.Volume.Name
	res := Result{Host: d.Host, Pool: t.Pool.Name, Name: t.Volume.Name, Path: t.Volume.Path, Key: t.Volume.Key,
		Size: p.To, Encryption: t.Encryption, Notes: slices.Clone(p.Notes)}
	if len(t.Open) == 1 {
		res.VM, res.Target, res.Attach = t.Open[0].VM, t.Open[0].Target, "live"
	}
	r := d.runner(events)
	now, err := stillAsChecked(ctx, d, p)
	if err != nil {
		if errors.Is(err, model.ErrNotTheSame) {
			return res, r.Refuse("resize drive", obj, err)
		}
		d.refused("resize drive", obj, err)
		return res, err
	}
	// The same VMs, reached on this run's connections (the check may have
	// been made on others, e.g. the console's sessions).
	p.Target.Open = now.Open
	t = p.Target
	rz, ok := d.Libvirt.(Resizer)
	if !ok {
		return res, r.Refuse("resize drive", obj, fmt.Errorf("the connection to %s cannot resize volumes", d.Host))
	}
	acts := []plan.Action{
		{Step: p.Plan[0], Audit: "resize drive", Object: fmt.Sprintf("%s %d -> %d bytes", obj, t.GuestSize, p.To),
			Do: func(ctx context.Context, rep plan.Report) (plan.Made, error) {
				return plan.Made{}, resizeNow(ctx, d, rz, p, rep)
			}},
		{Step: p.Plan[1], Audit: "refresh pool", Object: t.Pool.Name,
			Do: func(ctx context.Context, rep plan.Report) (plan.Made, error) {
				if note := refreshWhenIdle(ctx, d, t.Pool.Name, rep); note != "" {
					res.Notes = append(res.Notes, note)
				}
				return plan.Made{}, nil
			}},
		{Step: p.Plan[2], Do: func(ctx context.Context, _ plan.Report) (plan.Made, error) {
			return plan.Made{}, verifyResize(ctx, d, p)
		}},
	}
	if _, err := r.Run(ctx, acts); err != nil {
		state := resizeState(context.WithoutCancel(ctx), d, p)
		res.Notes = append(res.Notes, state)
		return res, fmt.Errorf("%w; %s", err, state)
	}
	if events != nil {
		events <- Event{Kind: Finished, Note: fmt.Sprintf("drive %s is %s for the guest", obj, model.IBytes(p.To))}
	}
	return res, nil
}

// stillAsChecked reads the drive again and returns it as it is now;
// model.ErrNotTheSame when another admin changed what the admin confirmed.
func stillAsChecked(ctx context.Context, d Deps, p ResizePrepared) (ResizeTarget, error) {
	t := p.Target
	now, err := InspectResize(ctx, d, t.Pool.Name, t.Volume.Name, model.DriveEncryption(t.Encryption))
	if err != nil {
		return now, err
	}
	obj := t.Pool.Name + "/" + t.Volume.Name
	switch {
	case now.Volume.Key != t.Volume.Key:
		return now, fmt.Errorf("volume %s changed since it was checked (key %q, was %q): nothing resized, check it again: %w",
			obj, now.Volume.Key, t.Volume.Key, model.ErrNotTheSame)
	case now.Encryption != t.Encryption:
		return now, fmt.Errorf("volume %s is now %q-encrypted, was %q when checked: nothing resized: %w", obj, now.Encryption, t.Encryption, model.ErrNotTheSame)
	case now.GuestSize != t.GuestSize:
		return now, fmt.Errorf("drive %s changed size since it was checked (now %s, was %s: another admin resized it): nothing resized; look at the new size and ask again: %w",
			obj, model.IBytes(now.GuestSize), model.IBytes(t.GuestSize), model.ErrNotTheSame)
	case !sameOpeners(now.Open, t.Open):
		return now, fmt.Errorf("the VMs that have drive %s open changed since it was checked: nothing resized; ask again: %w", obj, model.ErrNotTheSame)
	}
	return now, nil
}

func sameOpeners(a, b []Opener) bool {
	return slices.EqualFunc(a, b, func(x, y Opener) bool { return x.Host == y.Host && x.VM == y.VM && x.Target == y.Target })
}

// resizeNow changes the size once: through the one running VM's QEMU, or
// through libvirt's storage driver.
func resizeNow(ctx context.Context, d Deps, rz Resizer, p ResizePrepared, rep plan.Report) error {
	t := p.Target
	if len(t.Open) == 0 {
		return rz.ResizeVolume(ctx, t.Pool.Name, t.Volume.Name, p.Capacity, p.To < t.GuestSize, d.CreateTimeout, rep.Retried)
	}
	o := t.Open[0]
	orz, ok := o.lv.(Resizer)
	if !ok {
		return fmt.Errorf("the connection to %s cannot resize disks of running VMs", o.Host)
	}
	// QEMU's size is the guest's: its LUKS driver (engine qemu) adds the
	// header below by itself.
	if err := orz.BlockResize(ctx, o.VM, o.Target, p.To, d.CreateTimeout); err != nil {
		return err
	}
	if o.Engine != "librbd" || t.Header == 0 {
		return nil
	}
	// librbd with encryption loaded: Pacific's rbd_resize sizes the image
	// as stored (measured: 64 MiB asked, guest 48 MiB on LUKS2), later
	// releases add the header themselves. Ask QEMU what the guest sees,
	// and grow by the header only when it is missing.
	seen, err := orz.BlockCapacity(ctx, o.VM, o.Target)
	if err != nil {
		return err
	}
	if seen >= p.To {
		return nil
	}
	d.Log.Info("librbd sized the image as stored: growing it by the LUKS header", "vm", o.VM, "target", o.Target,
		"guest_sees", seen, "want", p.To, "header", t.Header)
	return orz.BlockResize(ctx, o.VM, o.Target, p.Capacity, d.CreateTimeout)
}

// poolBusyMessage is libvirt's refusal to refresh a pool while it builds
// a volume in it (storagePoolRefresh): another admin's, or stowage's own
// create on another screen. It passes when that build ends.
const poolBusyMessage = "has asynchronous jobs running"

// Bounds of the wait for a busy pool: the resize is done by then, and
// libvirt already reports the volume's new size (a volume lookup
// refreshes that volume); only the pool's totals wait for the refresh.
const (
	refreshAttempts = 12
	refreshPause    = time.Second
)

// refreshWhenIdle refreshes the pool, waiting (bounded) while libvirt
// builds another volume there. It never fails the resize: what it could
// not do is returned as a note with the command that finishes it.
func refreshWhenIdle(ctx context.Context, d Deps, pool string, rep plan.Report) string {
	var err error
	for attempt := 1; attempt <= refreshAttempts; attempt++ {
		if err = d.Libvirt.RefreshPool(ctx, pool); err == nil {
			return ""
		}
		if !strings.Contains(err.Error(), poolBusyMessage) || attempt == refreshAttempts {
			break
		}
		if rep.Retried != nil {
			rep.Retried(attempt, refreshAttempts, "libvirt is building another volume in the pool", err)
		}
		t := time.NewTimer(refreshPause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Sprintf("pool %s not refreshed (%v): its totals are stale until `virsh pool-refresh %s`", pool, ctx.Err(), commandQuote(pool))
		case <-t.C:
		}
	}
	d.Log.Warn("pool refresh after resize", "pool", pool, "err", err)
	return fmt.Sprintf("pool %s not refreshed (%v): the drive's size is right; the pool's totals are stale until `virsh pool-refresh %s`", pool, err, commandQuote(pool))
}

// verifyResize reads the sizes back after the pool's refresh.
func verifyResize(ctx context.Context, d Deps, p ResizePrepared) error {
	t := p.Target
	v, err := d.Libvirt.Volume(ctx, t.Pool.Name, t.Volume.Name)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if v.Capacity != p.Capacity {
		return fmt.Errorf("verify: libvirt reports %s/%s at %d bytes, want %d", t.Pool.Name, t.Volume.Name, v.Capacity, p.Capacity)
	}
	for _, o := range t.Open {
		orz, ok := o.lv.(Resizer)
		if !ok {
			continue
		}
		seen, err := orz.BlockCapacity(ctx, o.VM, o.Target)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		if seen != p.To {
			return fmt.Errorf("verify: VM %s sees %s at %d bytes, want %d", o.VM, o.Target, seen, p.To)
		}
	}
	return nil
}

// resizeState says what the drive is now, after a failure: the resize
// cannot be rolled back, so the admin needs the sizes as they are.
func resizeState(ctx context.Context, d Deps, p ResizePrepared) string {
	t := p.Target
	obj := t.Pool.Name + "/" + t.Volume.Name
	s := fmt.Sprintf("state now (a resize is never rolled back): asked %d bytes for the guest, was %d", p.To, t.GuestSize)
	if v, err := d.Libvirt.Volume(ctx, t.Pool.Name, t.Volume.Name); err != nil {
		s += fmt.Sprintf("; libvirt cannot read %s (%v)", obj, err)
	} else {
		s += fmt.Sprintf("; libvirt reports %s at %d bytes", obj, v.Capacity)
		if t.Header > 0 {
			s += fmt.Sprintf(" (%d for the guest after the %s header)", v.Capacity-min(v.Capacity, t.Header), t.Encryption)
		}
	}
	for _, o := range t.Open {
		if orz, ok := o.lv.(Resizer); ok {
			if seen, err := orz.BlockCapacity(ctx, o.VM, o.Target); err == nil {
				s += fmt.Sprintf("; VM %s sees %s at %d bytes", o.VM, o.Target, seen)
			} else {
				s += fmt.Sprintf("; the size VM %s sees could not be read (%v)", o.VM, err)
			}
		}
	}
	return s
}
