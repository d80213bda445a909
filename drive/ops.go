package drive

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"stowage/model"
	"stowage/plan"
)

// AttachSpec attaches an existing volume to a VM.
type AttachSpec struct {
	Pool, Volume, VM string
	Mode             model.AttachMode
	// Encryption is luks1 or luks2 for librbd-encrypted RBD images when
	// stowage cannot read the header itself (no Ceph access); ignored
	// elsewhere (libvirt describes QEMU-layer LUKS volumes).
	Encryption model.DriveEncryption
	Fallback   model.HotplugFallback
}

// PrepareAttach turns an AttachSpec into a plan (attach, verify) for
// Create, finding the volume's secret: its <encryption> (QEMU layer) or
// the volume secret whose usage is pool/image (RBD).
func PrepareAttach(ctx context.Context, d Deps, a AttachSpec) (Prepared, string, error) {
	p, secret, err := prepareAttachSpec(ctx, d, a)
	if err != nil {
		d.withDefaults().refused("attach drive", a.Pool+"/"+a.Volume+" -> "+a.VM, err)
	}
	return p, secret, err
}

func prepareAttachSpec(ctx context.Context, d Deps, a AttachSpec) (Prepared, string, error) {
	d = d.withDefaults()
	pool, err := d.Libvirt.Pool(ctx, a.Pool)
	if err != nil {
		return Prepared{}, "", err
	}
	v, err := d.Libvirt.Volume(ctx, a.Pool, a.Volume)
	if errors.Is(err, model.ErrNotFound) {
		return Prepared{}, "", fmt.Errorf("volume %s/%s does not exist", a.Pool, a.Volume)
	}
	if err != nil {
		return Prepared{}, "", err
	}
	spec := model.DriveSpec{Host: d.Host, Pool: a.Pool, PoolType: pool.Type, Name: a.Volume, Size: v.Capacity,
		Format: v.Format, Encryption: model.EncryptNone, AttachVM: a.VM, Attach: a.Mode, Fallback: a.Fallback}
	if spec.Format == "" || pool.Type == model.PoolRBD {
		spec.Format = "raw"
	}
	p := Prepared{Spec: spec, Pool: pool}
	var secret string
	if pool.Type == model.PoolRBD {
		p.VolumePath = pool.SourceName + "/" + a.Volume
		uuid, ok, err := d.Libvirt.SecretByVolumeUsage(ctx, p.VolumePath)
		if err != nil {
			return p, "", err
		}
		if ok {
			secret = uuid
			enc, err := rbdLUKSVersion(ctx, d, pool, a.Volume, a.Encryption)
			if err != nil {
				return p, "", err
			}
			p.Spec.Encryption = enc
		}
	} else {
		p.VolumePath = v.Path
		if v.Encryption != nil {
			p.Spec.Encryption, secret = model.EncryptLUKS, v.Encryption.SecretUUID
		}
	}
	if err := prepareAttach(ctx, d, &p); err != nil {
		return p, "", err
	}
	p.Plan = []model.Step{
		{ID: model.StepAttach, Title: fmt.Sprintf("attach %s to %s as %s (%s)", a.Volume, a.VM, p.Target, p.Spec.Attach)},
		{ID: model.StepVerify, Title: "verify"},
	}
	return p, secret, nil
}

// LUKSMagic starts every LUKS header ("LUKS\xba\xbe"), followed by the
// version as a big-endian uint16.
var LUKSMagic = []byte{'L', 'U', 'K', 'S', 0xba, 0xbe}

// LUKSVersion reads a LUKS header's version; 0 when head is not LUKS.
func LUKSVersion(head []byte) int {
	if len(head) < 8 || !bytes.Equal(head[:6], LUKSMagic) {
		return 0
	}
	return int(binary.BigEndian.Uint16(head[6:8]))
}

type headReader interface {
	ReadImageHead(pool, name string, n int) ([]byte, error)
}

func rbdLUKSVersion(ctx context.Context, d Deps, pool model.Pool, image string, given model.DriveEncryption) (model.DriveEncryption, error) {
	if given == model.EncryptLUKS1 || given == model.EncryptLUKS2 {
		return given, nil
	}
	if d.Ceph != nil {
		cl, err := d.Ceph(ctx, pool)
		if err == nil {
			defer cl.Close()
			if hr, ok := cl.(headReader); ok {
				head, err := hr.ReadImageHead(pool.SourceName, image, 8)
				if err == nil {
					switch LUKSVersion(head) {
					case 1:
						return model.EncryptLUKS1, nil
					case 2:
						return model.EncryptLUKS2, nil
					}
				}
			}
		}
	}
	return "", fmt.Errorf("image %s/%s has a stowage secret but its LUKS version is unknown: pass --encryption luks1 or luks2 (or give Ceph access to read the header)", pool.SourceName, image)
}

// Attach runs a prepared attach (see PrepareAttach).
func Attach(ctx context.Context, d Deps, p Prepared, secretUUID string, events chan<- Event) (Result, error) {
	d = d.withDefaults()
	s := p.Spec
	obj := s.Pool + "/" + s.Name + " -> " + s.AttachVM + ":" + p.Target
	res := Result{Host: d.Host, Pool: s.Pool, Name: s.Name, Path: p.VolumePath, SecretUUID: secretUUID,
		VM: s.AttachVM, Target: p.Target, Attach: s.Attach.String(), Encryption: string(s.Encryption), Notes: p.Warnings}
	acts := []plan.Action{
		{Step: p.Plan[0], Audit: "attach " + s.Attach.String(), Object: obj,
			Do: func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				return attachPrepared(ctx, d, p, secretUUID)
			}},
		{Step: p.Plan[1], Do: func(ctx context.Context, _ plan.Report) (plan.Made, error) {
			return plan.Made{}, verify(ctx, d, p, secretUUID)
		}},
	}
	left, err := d.runner(events).Run(ctx, acts)
	res.Leftovers = left
	return res, err
}

// Detach removes disk target from a VM, live and/or persistent. A live
// unplug the guest has not acknowledged within Deps.DetachWait is
// reported in the result's notes, not as a failure.
func Detach(ctx context.Context, d Deps, vm, target string, mode model.AttachMode, events chan<- Event) (Result, error) {
	d = d.withDefaults()
	r := d.runner(events)
	res := Result{Host: d.Host, VM: vm, Target: target, Attach: mode.String()}
	audit, obj := "detach "+mode.String(), vm+":"+target
	if !mode.Live && !mode.Persistent {
		return res, r.Refuse(audit, obj, fmt.Errorf("detach: say --live, --persistent or both"))
	}
	dom, err := d.Libvirt.Domain(ctx, vm, false)
	if err != nil {
		d.refused(audit, obj, err)
		return res, err
	}
	if mode.Live && dom.State != "running" {
		return res, r.Refuse(audit, obj, fmt.Errorf("VM %q is %s: nothing to detach live (use --persistent)", vm, dom.State))
	}
	step := model.Step{ID: model.StepDetach, Title: fmt.Sprintf("detach %s from %s (%s)", target, vm, mode)}
	acts := []plan.Action{{Step: step, Audit: audit, Object: obj,
		Do: func(ctx context.Context, _ plan.Report) (plan.Made, error) {
			found := false
			for _, inactive := range []bool{false, true} {
				if (inactive && !mode.Persistent) || (!inactive && !mode.Live) {
					continue
				}
				dd, err := d.Libvirt.Domain(ctx, vm, inactive)
				if err != nil {
					return plan.Made{}, err
				}
				for _, k := range dd.Disks {
					if k.Target == target {
						found = true
					}
				}
			}
			if !found {
				return plan.Made{}, fmt.Errorf("VM %q has no disk %s (%s)", vm, target, mode)
			}
			r, err := d.Libvirt.DetachDisk(ctx, vm, target, mode.Live, mode.Persistent, d.DetachWait)
			if err == nil && r.LivePending {
				res.Notes = append(res.Notes, fmt.Sprintf("the guest has not yet released %s: libvirt sent the unplug request; "+
					"the disk leaves the running VM when the guest OS acknowledges it, or at the VM's next stop", target))
			}
			return plan.Made{}, err
		}}}
	_, err = r.Run(ctx, acts)
	return res, err
}

// Delete removes a drive: the volume (or RBD image) and, when nothing
// else uses it, its secret. It refuses while any VM on this host (or, for
// shared storage, on any connected host) uses the volume, live or in its
// config; the refusal is audited.
func Delete(ctx context.Context, d Deps, pool, name string, events chan<- Event) (Result, error) {
	d = d.withDefaults()
	res, ran, err := deleteDrive(ctx, d, pool, name, events)
	if err != nil && !ran {
		// Refused, or the checks could not be made: audited here (a run's
		// steps are audited by the runner).
		d.refused("delete volume", pool+"/"+name, err)
	}
	return res, err
}

func deleteDrive(ctx context.Context, d Deps, pool, name string, events chan<- Event) (res Result, ran bool, err error) {
	r := d.runner(events)
	obj := pool + "/" + name
	res = Result{Host: d.Host, Pool: pool, Name: name}
	p, err := d.Libvirt.Pool(ctx, pool)
	if err != nil {
		return res, false, err
	}
	v, err := d.Libvirt.Volume(ctx, pool, name)
	if errors.Is(err, model.ErrNotFound) {
		return res, false, fmt.Errorf("volume %s does not exist", obj)
	}
	if err != nil {
		return res, false, err
	}
	res.Path, res.Key = v.Path, v.Key
	ref := driveRef{pool: p, vol: v}
	var secret string
	if p.Type == model.PoolRBD {
		ref.rbdName = p.SourceName + "/" + name
		if uuid, ok, err := d.Libvirt.SecretByVolumeUsage(ctx, ref.rbdName); err != nil {
			return res, false, err
		} else if ok {
			secret = uuid
		}
	} else if v.Encryption != nil {
		secret = v.Encryption.SecretUUID
	}
	res.SecretUUID = secret
	users, running, err := usersOf(ctx, d, ref)
	if err != nil {
		return res, false, err
	}
	if len(users) > 0 {
		why := "detach it first"
		if running {
			why = "it is attached to a running VM: detach it first"
		}
		return res, false, fmt.Errorf("drive %s is in use by %v: %s", obj, users, why)
	}
	keepSecret := ""
	if secret != "" {
		if keepSecret, err = secretKeptBecause(ctx, d, secret, ref); err != nil {
			return res, false, err
		}
		if keepSecret != "" {
			res.Notes = append(res.Notes, fmt.Sprintf("secret %s kept: %s", secret, keepSecret))
		}
	}
	steps := model.DeletePlan(secret != "" && keepSecret == "")
	acts := []plan.Action{{Step: steps[0], Audit: "delete volume", Object: obj,
		Do: func(ctx context.Context, _ plan.Report) (plan.Made, error) {
			// The volume checked above, and no other: another admin may
			// have replaced it since.
			return plan.Made{}, d.Libvirt.DeleteVolumeIf(ctx, pool, name, func(now model.Volume) error {
				if now.Key != v.Key {
					return fmt.Errorf("volume %s changed while it was checked (key %q, was %q): nothing deleted, check it again: %w", obj, now.Key, v.Key, model.ErrNotTheSame)
				}
				return nil
			})
		}}}
	if secret != "" && keepSecret == "" {
		acts = append(acts, plan.Action{Step: steps[1], Audit: "undefine secret", Object: secret,
			Do: func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				err := d.Libvirt.UndefineSecret(ctx, secret)
				if errors.Is(err, model.ErrNotFound) {
					return plan.Made{}, nil
				}
				if err != nil {
					err = fmt.Errorf("%w; the volume is gone: remove the secret with `virsh secret-undefine %s`", err, secret)
				}
				return plan.Made{}, err
			}})
	}
	_, err = r.Run(ctx, acts)
	return res, true, err
}
