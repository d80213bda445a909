package drive

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"

	"stowage/libvirtx"
	"stowage/model"
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

// newPassphrase reads PassphraseEntropy random bytes and returns them as
// unpadded base64url text (43 bytes): text, so that an admin recovering a
// disk with cryptsetup can type it, and identical for libvirt and librbd.
func newPassphrase(r io.Reader) ([]byte, error) {
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
// or ctx cancellation the finished steps are undone in reverse.
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
	var acts []action
	for _, st := range p.Plan {
		st := st
		a := action{step: st, auditObject: obj}
		switch st.ID {
		case model.StepCreateSecret:
			a.auditAction = "create secret"
			a.do = func(ctx context.Context, _ report) (func(context.Context) error, Leftover, error) {
				var err error
				if pass, err = newPassphrase(d.Rand); err != nil {
					return nil, Leftover{}, err
				}
				uuid, err := d.Libvirt.DefineVolumeSecret(ctx, p.VolumePath, model.SecretDescription(d.Host, s.Pool, s.Name))
				if err != nil {
					return nil, Leftover{}, err
				}
				secretUUID, res.SecretUUID = uuid, uuid
				undo := func(ctx context.Context) error { return d.Libvirt.UndefineSecret(ctx, uuid) }
				left := Leftover{What: "secret " + uuid, Command: "virsh secret-undefine " + uuid}
				if err := d.Libvirt.SetSecretValue(ctx, uuid, pass); err != nil {
					return undo, left, err
				}
				if s.PoolType != model.PoolRBD {
					// libvirt reads the value back itself when it formats:
					// stowage needs it no longer.
					clear(pass)
				}
				return undo, left, nil
			}
		case model.StepCreateVolume:
			a.auditAction = "create volume"
			if s.PoolType == model.PoolRBD && s.Encrypted() {
				a.auditAction = "create rbd image"
				a.do = func(ctx context.Context, _ report) (func(context.Context) error, Leftover, error) {
					var err error
					if cl, err = d.Ceph(ctx, p.Pool); err != nil {
						return nil, Leftover{}, err
					}
					size, err := s.AllocatedSize()
					if err != nil {
						return nil, Leftover{}, err
					}
					if err := cl.CreateImage(p.Pool.SourceName, s.Name, size); err != nil {
						return nil, Leftover{}, err
					}
					res.Path = p.VolumePath
					undo := func(ctx context.Context) error {
						if err := cl.RemoveImage(p.Pool.SourceName, s.Name); err != nil {
							return err
						}
						return d.Libvirt.RefreshPool(ctx, s.Pool)
					}
					return undo, Leftover{What: "RBD image " + p.VolumePath, Command: "rbd rm " + commandQuote(p.VolumePath)}, nil
				}
				break
			}
			a.do = func(ctx context.Context, rep report) (func(context.Context) error, Leftover, error) {
				vs := libvirtx.VolumeSpec{Name: s.Name, Capacity: s.Size, Format: s.Format}
				if s.Encrypted() {
					vs.Encryption = &model.Encryption{Format: "luks", SecretUUID: secretUUID}
				}
				if s.PoolType == model.PoolRBD {
					vs.Format = ""
				}
				v, err := d.Libvirt.CreateVolumeWatched(ctx, s.Pool, vs, p.Cipher, libvirtx.CreateWatch{
					Within: d.CreateTimeout, Interval: d.PollInterval, Progress: rep.progress, Retried: rep.retried})
				left := Leftover{What: "volume " + obj, Command: fmt.Sprintf("virsh vol-delete --pool %s %s", commandQuote(s.Pool), commandQuote(s.Name))}
				undo := func(ctx context.Context) error { return d.Libvirt.DeleteVolume(ctx, s.Pool, s.Name) }
				if err != nil {
					// A volume that outlived a timed-out call may exist:
					// try to delete it, ignoring "not found".
					return func(ctx context.Context) error {
						if err := undo(ctx); err != nil && !libvirtx.IsNotFound(err) {
							return err
						}
						return nil
					}, left, err
				}
				res.Path, res.Key = v.Path, v.Key
				return undo, left, nil
			}
		case model.StepFormatLUKS:
			a.auditAction = "format " + s.LibrbdFormat()
			a.do = func(ctx context.Context, _ report) (func(context.Context) error, Leftover, error) {
				err := cl.FormatLUKS(p.Pool.SourceName, s.Name, s.LibrbdFormat(), pass)
				clear(pass)
				if err != nil {
					return nil, Leftover{}, err
				}
				// Let libvirt's pool see the image, as the browser lists it.
				return nil, Leftover{}, d.Libvirt.RefreshPool(ctx, s.Pool)
			}
		case model.StepAttach:
			a.auditAction = "attach " + s.Attach.String()
			a.auditObject = obj + " -> " + s.AttachVM + ":" + p.Target
			a.do = func(ctx context.Context, _ report) (func(context.Context) error, Leftover, error) {
				res.VM, res.Target, res.Attach = s.AttachVM, p.Target, s.Attach.String()
				return attachPrepared(ctx, d, p, secretUUID)
			}
		case model.StepVerify:
			a.do = func(ctx context.Context, _ report) (func(context.Context) error, Leftover, error) {
				return nil, Leftover{}, verify(ctx, d, p, secretUUID)
			}
		}
		acts = append(acts, a)
	}
	res.Notes = append(res.Notes, p.Warnings...)
	left, err := runner{d: d, events: events}.run(ctx, acts)
	res.Leftovers = left
	if err != nil {
		return res, err
	}
	if events != nil {
		events <- Event{Kind: Finished, Note: "drive " + obj + " ready"}
	}
	return res, nil
}

// attachPrepared attaches the disk: live and persistent in one call when
// both use the same engine, else live (QEMU layer) then persistent
// (librbd). The undo detaches from wherever it was attached.
func attachPrepared(ctx context.Context, d Deps, p Prepared, secretUUID string) (func(context.Context) error, Leftover, error) {
	s := p.Spec
	vm, target := s.AttachVM, p.Target
	var live, persistent bool
	undo := func(ctx context.Context) error {
		r, err := d.Libvirt.DetachDisk(ctx, vm, target, live, persistent, d.DetachWait)
		if err == nil && r.LivePending {
			return fmt.Errorf("the guest has not released %s: it stays in the running VM until the guest acknowledges the unplug or the VM stops", target)
		}
		return err
	}
	left := Leftover{What: fmt.Sprintf("disk %s of VM %s", target, vm),
		Command: fmt.Sprintf("virsh detach-disk %s %s --live --config", commandQuote(vm), target)}
	configEngine := "librbd"
	if s.Attach.Live && s.Attach.Persistent && p.LiveEngine != configEngine && s.PoolType == model.PoolRBD {
		if err := d.Libvirt.AttachDisk(ctx, vm, p.DiskSpec(secretUUID, p.LiveEngine), true, false); err != nil {
			return nil, left, err
		}
		live = true
		if err := d.Libvirt.AttachDisk(ctx, vm, p.DiskSpec(secretUUID, configEngine), false, true); err != nil {
			return undo, left, err
		}
		persistent = true
		return undo, left, nil
	}
	engine := p.LiveEngine
	if !s.Attach.Live {
		engine = configEngine
	}
	if err := d.Libvirt.AttachDisk(ctx, vm, p.DiskSpec(secretUUID, engine), s.Attach.Live, s.Attach.Persistent); err != nil {
		return nil, left, err
	}
	live, persistent = s.Attach.Live, s.Attach.Persistent
	return undo, left, nil
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
