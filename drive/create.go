package drive

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"stowage/model"
	"stowage/plan"
)

// PassphraseEntropy is the passphrase's random bytes (256 bits).
const PassphraseEntropy = 32

// Result is what a workflow made (or removed), printed by the CLI and
// returned to the browser. It never holds a secret value.
type Result struct {
	Host       string     `json:"host"`
	Pool       string     `json:"pool"`
	Name       string     `json:"name"`
	Path       string     `json:"path,omitempty"`
	Key        string     `json:"key,omitempty"`
	Size       uint64     `json:"size,omitempty"`
	Format     string     `json:"format,omitempty"`
	Encryption string     `json:"encryption,omitempty"`
	SecretUUID string     `json:"secret_uuid,omitempty"`
	VM         string     `json:"vm,omitempty"`
	Target     string     `json:"target,omitempty"`
	Attach     string     `json:"attach,omitempty"`
	Notes      []string   `json:"notes,omitempty"`
	Leftovers  []Leftover `json:"leftovers,omitempty"`
}

// NewPassphrase reads PassphraseEntropy random bytes and returns them as
// unpadded base64url text (43 bytes): text, so that an admin recovering a
// disk with cryptsetup can type it, and identical for libvirt and librbd.
func NewPassphrase(r io.Reader) ([]byte, error) {
	raw := make([]byte, PassphraseEntropy)
	defer clear(raw)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, fmt.Errorf("read random bytes for the passphrase: %w", err)
	}
	out := make([]byte, base64.RawURLEncoding.EncodedLen(len(raw)))
	base64.RawURLEncoding.Encode(out, raw)
	return out, nil
}

// Create runs a prepared plan. Events (if events is not nil) are sent as
// each step starts, moves and ends; the channel is not closed. On failure
// or ctx cancellation what this run made is undone in reverse, and only
// that: each undo checks the identity its step recorded (secret UUID,
// volume key and secret, image id, the disk's source) first.
func Create(ctx context.Context, d Deps, p Prepared, events chan<- Event) (Result, error) {
	d = d.withDefaults()
	s := p.Spec
	res := Result{Host: d.Host, Pool: s.Pool, Name: s.Name, Size: s.Size, Format: s.Format, Encryption: string(s.Encryption)}
	var pass []byte
	defer func() { clear(pass) }()
	var secretUUID string
	var cl Ceph
	defer func() {
		if cl != nil {
			cl.Close()
		}
	}()
	obj := s.Pool + "/" + s.Name
	var acts []plan.Action
	for _, st := range p.Plan {
		a := plan.Action{Step: st, Object: obj}
		switch st.ID {
		case model.StepCreateSecret:
			a.Audit = "create secret"
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				var err error
				if pass, err = NewPassphrase(d.Rand); err != nil {
					return plan.Made{}, err
				}
				uuid, err := d.Libvirt.DefineVolumeSecret(ctx, p.VolumePath, model.SecretDescription(d.Host, s.Pool, s.Name))
				if err != nil {
					return plan.Made{}, err
				}
				secretUUID, res.SecretUUID = uuid, uuid
				made := plan.Made{What: "secret " + uuid, Identity: uuid, Command: "virsh secret-undefine " + uuid,
					Undo: func(ctx context.Context) error { return undefineSecret(ctx, d, uuid) }}
				if err := d.Libvirt.SetSecretValue(ctx, uuid, pass); err != nil {
					return made, err
				}
				if s.PoolType != model.PoolRBD {
					// libvirt reads the value back itself when it formats:
					// stowage needs it no longer.
					clear(pass)
				}
				return made, nil
			}
		case model.StepCreateVolume:
			a.Audit = "create volume"
			if s.PoolType == model.PoolRBD && s.Encrypted() {
				a.Audit = "create rbd image"
				a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
					var err error
					if cl, err = d.Ceph(ctx, p.Pool); err != nil {
						return plan.Made{}, err
					}
					size, err := s.AllocatedSize()
					if err != nil {
						return plan.Made{}, err
					}
					if err := cl.CreateImage(p.Pool.SourceName, s.Name, size); err != nil {
						// "already exists" included: nothing was made.
						return plan.Made{}, err
					}
					id, err := cl.ImageID(p.Pool.SourceName, s.Name)
					if err != nil {
						return plan.Made{What: "RBD image " + p.VolumePath, Command: "rbd rm " + commandQuote(p.VolumePath),
							Undo: func(context.Context) error {
								return fmt.Errorf("the id of image %s could not be read after it was made (%v), so nothing proves it is this run's: check it and remove it with `rbd rm %s` if it is not someone's: %w",
									p.VolumePath, err, commandQuote(p.VolumePath), plan.ErrNotOurs)
							}}, err
					}
					res.Path = p.VolumePath
					return plan.Made{What: "RBD image " + p.VolumePath + " (id " + id + ")", Identity: id,
						Command: "rbd rm " + commandQuote(p.VolumePath),
						Undo: func(ctx context.Context) error {
							if err := notOurs(cl.RemoveImageIfID(p.Pool.SourceName, s.Name, id)); err != nil {
								return err
							}
							return d.Libvirt.RefreshPool(ctx, s.Pool)
						}}, nil
				}
				break
			}
			a.Do = func(ctx context.Context, rep plan.Report) (plan.Made, error) {
				return createVolume(ctx, d, p, secretUUID, rep, &res)
			}
		case model.StepFormatLUKS:
			a.Audit = "format " + s.LibrbdFormat()
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				err := cl.FormatLUKS(p.Pool.SourceName, s.Name, s.LibrbdFormat(), pass)
				clear(pass)
				if err != nil {
					return plan.Made{}, err
				}
				// Let libvirt's pool see the image, as the browser lists it.
				return plan.Made{}, d.Libvirt.RefreshPool(ctx, s.Pool)
			}
		case model.StepAttach:
			a.Audit = "attach " + s.Attach.String()
			a.Object = obj + " -> " + s.AttachVM + ":" + p.Target
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				res.VM, res.Target, res.Attach = s.AttachVM, p.Target, s.Attach.String()
				return attachPrepared(ctx, d, p, secretUUID)
			}
		case model.StepVerify:
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				return plan.Made{}, verify(ctx, d, p, secretUUID)
			}
		}
		acts = append(acts, a)
	}
	res.Notes = append(res.Notes, p.Warnings...)
	left, err := d.runner(events).Run(ctx, acts)
	res.Leftovers = left
	if err != nil {
		return res, err
	}
	if events != nil {
		events <- Event{Kind: Finished, Note: "drive " + obj + " ready"}
	}
	return res, nil
}

// undefineSecret removes the secret this run defined (a UUID is libvirt's
// own identity for it); one already gone is not an error.
func undefineSecret(ctx context.Context, d Deps, uuid string) error {
	if err := d.Libvirt.UndefineSecret(ctx, uuid); err != nil && !errors.Is(err, model.ErrNotFound) {
		return err
	}
	return nil
}

// createVolume makes the volume (QEMU-layer LUKS when encrypted). What it
// made is identified by its key and, when encrypted, by this run's secret
// in its <encryption>: the undo deletes only a volume that still has both.
func createVolume(ctx context.Context, d Deps, p Prepared, secretUUID string, rep plan.Report, res *Result) (plan.Made, error) {
	s := p.Spec
	vs := model.VolumeSpec{Name: s.Name, Capacity: s.Size, Format: s.Format}
	if s.Encrypted() {
		vs.Encryption = &model.Encryption{Format: "luks", SecretUUID: secretUUID}
	}
	if s.PoolType == model.PoolRBD {
		vs.Format = ""
	}
	if model.FullAllocation(s.PoolType) {
		vs.Allocation = vs.Capacity
	}
	v, err := d.Libvirt.CreateVolumeWatched(ctx, s.Pool, vs, p.Cipher, model.CreateWatch{
		Within: d.CreateTimeout, Interval: d.PollInterval, Progress: rep.Progress, Retried: rep.Retried})
	made, err := volumeMade(d, s.Pool, s.Name, secretUUID, v, err)
	if err == nil {
		res.Path, res.Key = v.Path, v.Key
	}
	return made, err
}

// volumeMade turns the answer of a volume creation (or clone) of
// pool/name into what the step made. What it made is identified by its
// key and, when encrypted, by this run's secret in its <encryption>: the
// undo deletes only a volume that still has both.
func volumeMade(d Deps, pool, name, secretUUID string, v model.Volume, err error) (plan.Made, error) {
	obj := pool + "/" + name
	made := plan.Made{What: "volume " + obj,
		Command: fmt.Sprintf("virsh vol-delete --pool %s %s", commandQuote(pool), commandQuote(name))}
	if err != nil {
		if !errors.Is(err, model.ErrTimeout) {
			// libvirt answered: the volume was not made (a failed build is
			// deleted by libvirt itself), or the name was taken already by
			// someone else. Either way there is nothing of ours to undo.
			return plan.Made{}, err
		}
		// The call was cut: the volume may exist, made by this run or by
		// another admin. Only an encrypted volume carries proof (this
		// run's secret); anything else is left alone and named.
		made.Undo = func(ctx context.Context) error {
			return notOurs(d.Libvirt.DeleteVolumeIf(ctx, pool, name, func(v model.Volume) error {
				if secretUUID == "" || v.Encryption == nil || v.Encryption.SecretUUID != secretUUID {
					return fmt.Errorf("volume %s appeared after a timed-out create, with nothing proving this run made it: check it and remove it with `%s` if it is not someone's: %w",
						obj, made.Command, model.ErrNotTheSame)
				}
				return nil
			}))
		}
		return made, err
	}
	made.Identity = v.Key
	made.Undo = func(ctx context.Context) error {
		return notOurs(d.Libvirt.DeleteVolumeIf(ctx, pool, name, func(now model.Volume) error {
			if now.Key != v.Key {
				return fmt.Errorf("volume %s now has key %q, this run made %q: %w", obj, now.Key, v.Key, model.ErrNotTheSame)
			}
			if secretUUID != "" && (now.Encryption == nil || now.Encryption.SecretUUID != secretUUID) {
				return fmt.Errorf("volume %s is no longer encrypted with this run's secret %s: %w", obj, secretUUID, model.ErrNotTheSame)
			}
			return nil
		}))
	}
	return made, nil
}

// attachPrepared attaches the disk: live and persistent in one call when
// both use the same engine, else live (QEMU layer) then persistent
// (librbd). The undo detaches from wherever this run attached it, and
// only while the disk at that target is still this drive.
func attachPrepared(ctx context.Context, d Deps, p Prepared, secretUUID string) (plan.Made, error) {
	s := p.Spec
	vm, target := s.AttachVM, p.Target
	var live, persistent bool
	made := plan.Made{What: fmt.Sprintf("disk %s of VM %s", target, vm), Identity: target + " -> " + p.VolumePath,
		Command: fmt.Sprintf("virsh detach-disk %s %s --live --config", commandQuote(vm), target),
		Undo: func(ctx context.Context) error {
			if err := notOurs(diskStillOurs(ctx, d, p, live, persistent)); err != nil {
				return err
			}
			r, err := d.Libvirt.DetachDisk(ctx, vm, target, live, persistent, d.DetachWait)
			if err == nil && r.LivePending {
				return fmt.Errorf("the guest has not released %s: it stays in the running VM until the guest acknowledges the unplug or the VM stops", target)
			}
			return err
		}}
	configEngine := "librbd"
	if s.Attach.Live && s.Attach.Persistent && p.LiveEngine != configEngine && s.PoolType == model.PoolRBD {
		if err := d.Libvirt.AttachDisk(ctx, vm, p.DiskSpec(secretUUID, p.LiveEngine), true, false); err != nil {
			return plan.Made{}, err
		}
		live = true
		if err := d.Libvirt.AttachDisk(ctx, vm, p.DiskSpec(secretUUID, configEngine), false, true); err != nil {
			return made, err
		}
		persistent = true
		return made, nil
	}
	engine := p.LiveEngine
	if !s.Attach.Live {
		engine = configEngine
	}
	if err := d.Libvirt.AttachDisk(ctx, vm, p.DiskSpec(secretUUID, engine), s.Attach.Live, s.Attach.Persistent); err != nil {
		return plan.Made{}, err
	}
	live, persistent = s.Attach.Live, s.Attach.Persistent
	return made, nil
}

// isDrive reports whether a VM disk points at the prepared drive.
func isDrive(k model.Disk, p Prepared) bool {
	return (p.VolumePath != "" && (k.Source == p.VolumePath || k.Source == "rbd:"+p.VolumePath)) ||
		(k.Pool == p.Spec.Pool && k.Volume == p.Spec.Name)
}

// diskStillOurs checks that the disk at the target, where this run
// attached it, still points at this drive.
func diskStillOurs(ctx context.Context, d Deps, p Prepared, live, persistent bool) error {
	vm, target := p.Spec.AttachVM, p.Target
	for _, side := range []struct {
		on       bool
		inactive bool
	}{{live, false}, {persistent, true}} {
		if !side.on {
			continue
		}
		dom, err := d.Libvirt.Domain(ctx, vm, side.inactive)
		if err != nil {
			return err
		}
		for _, k := range dom.Disks {
			if k.Target == target && !isDrive(k, p) {
				return fmt.Errorf("disk %s of VM %s now points at %s, not at %s: %w", target, vm, k.Source, p.VolumePath, model.ErrNotTheSame)
			}
		}
	}
	return nil
}

// verify reads back what was made: the volume (with its encryption), the
// secret (private), and the disk in the VM's live and persistent XML.
func verify(ctx context.Context, d Deps, p Prepared, secretUUID string) error {
	s := p.Spec
	v, err := d.Libvirt.Volume(ctx, s.Pool, s.Name)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if s.Encrypted() && s.PoolType != model.PoolRBD && (v.Encryption == nil || v.Encryption.Format != "luks") {
		return fmt.Errorf("verify: volume %s/%s has no LUKS encryption in libvirt's description", s.Pool, s.Name)
	}
	if secretUUID != "" {
		sec, err := d.Libvirt.Secret(ctx, secretUUID)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		if !sec.Private || sec.Ephemeral || sec.UsageID != p.VolumePath {
			return fmt.Errorf("verify: secret %s is private=%v ephemeral=%v usage=%q; want private, persistent, usage %q",
				secretUUID, sec.Private, sec.Ephemeral, sec.UsageID, p.VolumePath)
		}
	}
	if s.AttachVM == "" {
		return nil
	}
	for _, pass := range []struct {
		on       bool
		inactive bool
		name     string
	}{{s.Attach.Live, false, "live"}, {s.Attach.Persistent, true, "persistent"}} {
		if !pass.on {
			continue
		}
		dom, err := d.Libvirt.Domain(ctx, s.AttachVM, pass.inactive)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		found := false
		for _, k := range dom.Disks {
			if k.Target == p.Target {
				found = true
				if s.Encrypted() && (k.Encryption == nil || k.Encryption.SecretUUID != secretUUID) {
					return fmt.Errorf("verify: disk %s in the %s XML of %s has no encryption with secret %s", p.Target, pass.name, s.AttachVM, secretUUID)
				}
			}
		}
		if !found {
			return fmt.Errorf("verify: disk %s missing from the %s XML of %s", p.Target, pass.name, s.AttachVM)
		}
	}
	return nil
}
