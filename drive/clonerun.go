package drive

import (
	"bytes"
	"context"
	"fmt"
	"strconv"

	"stowage/model"
	"stowage/plan"
)

// Clone runs a prepared clone on the plan runner. A failure or a cancel
// undoes what this run made, and only that: the new volume by key (and,
// encrypted, by its new secret), the new secret by UUID, the new image and
// snapshot by id. A name another admin took in between makes the copy
// step fail with nothing made, so nothing of theirs is removed.
func Clone(ctx context.Context, d Deps, p PreparedClone, events chan<- Event) (Result, error) {
	d = d.withDefaults()
	s := p.Spec
	res := Result{Host: d.Host, Pool: s.Target(), Name: s.To, Size: p.Source.Capacity, Format: p.Source.Format}
	switch p.Kind {
	case model.CloneQEMULUKS:
		res.Encryption = string(model.EncryptLUKS)
	case model.CloneLibrbdLUKS:
		res.Encryption = p.LUKSFormat
	}
	res.Notes = append(res.Notes, p.Warnings...)
	obj := p.Object()
	var secretUUID string
	var cl Ceph
	defer func() {
		if cl != nil {
			cl.Close()
		}
	}()
	cephCloner := func(ctx context.Context) (CephCloner, error) {
		if cl == nil {
			c, err := d.Ceph(ctx, p.From)
			if err != nil {
				return nil, err
			}
			cl = c
		}
		cc, ok := cl.(CephCloner)
		if !ok {
			return nil, fmt.Errorf("this build's Ceph client cannot clone images")
		}
		return cc, nil
	}
	var snapID uint64
	snap := model.CloneSnapshotName(s.To)
	// The clone's passphrase: kept (for librbd's format) only until that
	// step, cleared whatever happens.
	var pass []byte
	defer func() { clear(pass) }()
	var readerID string
	var acts []plan.Action
	for _, st := range p.Plan {
		a := plan.Action{Step: st, Object: obj}
		switch st.ID {
		case model.StepCreateSecret:
			a.Audit, a.Object = "create secret", p.TargetPath
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				var err error
				if pass, err = NewPassphrase(d.Rand); err != nil {
					return plan.Made{}, err
				}
				uuid, made, err := newCloneSecret(ctx, d, p, pass)
				secretUUID, res.SecretUUID = uuid, uuid
				if p.Kind != model.CloneLibrbdLUKS {
					// libvirt reads it back itself when it formats.
					clear(pass)
				}
				return made, err
			}
		case model.StepCloneVolume:
			a.Audit = "clone volume"
			a.Do = func(ctx context.Context, rep plan.Report) (plan.Made, error) {
				return cloneVolume(ctx, d, p, secretUUID, rep, &res)
			}
		case model.StepRBDCopy:
			a.Audit = "deep-copy rbd image"
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				cc, err := cephCloner(ctx)
				if err != nil {
					return plan.Made{}, err
				}
				if err := cc.DeepCopyImage(p.From.SourceName, s.Name, p.To.SourceName, s.To); err != nil {
					// "already exists" included: nothing was made.
					return plan.Made{}, err
				}
				return rbdImageMade(ctx, d, cl, p, &res)
			}
		case model.StepRBDSnapshot:
			a.Audit, a.Object = "protected rbd snapshot", p.From.SourceName+"/"+s.Name+"@"+snap
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				cc, err := cephCloner(ctx)
				if err != nil {
					return plan.Made{}, err
				}
				id, err := cc.ProtectedSnapshot(p.From.SourceName, s.Name, snap)
				if err != nil {
					return plan.Made{}, err
				}
				snapID = id
				where := p.From.SourceName + "/" + s.Name + "@" + snap
				return plan.Made{What: "snapshot " + where + " (id " + strconv.FormatUint(id, 10) + ")",
					Identity: strconv.FormatUint(id, 10),
					Command:  "rbd snap unprotect " + commandQuote(where) + " && rbd snap rm " + commandQuote(where),
					Undo: func(context.Context) error {
						return notOurs(cc.RemoveSnapshotIfID(p.From.SourceName, s.Name, snap, snapID))
					}}, nil
			}
		case model.StepRBDClone:
			a.Audit = "clone rbd image"
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				cc, err := cephCloner(ctx)
				if err != nil {
					return plan.Made{}, err
				}
				if err := cc.CloneFromSnapshot(p.From.SourceName, s.Name, snap, p.To.SourceName, s.To); err != nil {
					return plan.Made{}, err
				}
				return rbdImageMade(ctx, d, cl, p, &res)
			}
		case model.StepCreateVolume:
			a.Audit = "create rbd image"
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				cc, err := cephCloner(ctx)
				if err != nil {
					return plan.Made{}, err
				}
				// The same raw size and LUKS version: the same payload.
				size, err := cc.ImageSize(p.From.SourceName, s.Name)
				if err != nil {
					return plan.Made{}, err
				}
				if err := cl.CreateImage(p.To.SourceName, s.To, size); err != nil {
					// "already exists" included: nothing was made.
					return plan.Made{}, err
				}
				return rbdImageMade(ctx, d, cl, p, &res)
			}
		case model.StepFormatLUKS:
			a.Audit = "format " + p.LUKSFormat
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				err := cl.FormatLUKS(p.To.SourceName, s.To, p.LUKSFormat, pass)
				clear(pass)
				return plan.Made{}, err
			}
		case model.StepRBDReader:
			reader := model.CloneReaderName(s.To)
			where := p.From.SourceName + "/" + reader
			a.Audit, a.Object = "clone rbd image", where
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				cc, err := cephCloner(ctx)
				if err != nil {
					return plan.Made{}, err
				}
				if err := cc.CloneFromSnapshot(p.From.SourceName, s.Name, snap, p.From.SourceName, reader); err != nil {
					return plan.Made{}, err
				}
				id, err := cl.ImageID(p.From.SourceName, reader)
				if err != nil {
					return plan.Made{What: "RBD image " + where, Command: "rbd rm " + commandQuote(where),
						Undo: func(context.Context) error {
							return fmt.Errorf("the id of %s could not be read (%v): remove it with `rbd rm %s` if it is not someone's: %w", where, err, commandQuote(where), plan.ErrNotOurs)
						}}, err
				}
				readerID = id
				return plan.Made{What: "temporary RBD image " + where + " (id " + id + ")", Identity: id, Command: "rbd rm " + commandQuote(where),
					Undo: func(context.Context) error { return notOurs(cl.RemoveImageIfID(p.From.SourceName, reader, id)) }}, nil
			}
		case model.StepReencrypt:
			a.Audit = "copy re-encrypted"
			a.Do = func(ctx context.Context, rep plan.Report) (plan.Made, error) {
				from, to := p.readerDisk(), p.cloneDisk(secretUUID)
				return plan.Made{}, d.Libvirt.(Cloner).CopyDecrypted(ctx, from, to, d.CreateTimeout, d.PollInterval, rep.Progress)
			}
		case model.StepRemoveReader:
			a.Audit, a.Object = "remove temporary reader", p.From.SourceName+"/"+model.CloneReaderName(s.To)
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				cc, err := cephCloner(ctx)
				if err != nil {
					return plan.Made{}, err
				}
				if err := notOurs(cl.RemoveImageIfID(p.From.SourceName, model.CloneReaderName(s.To), readerID)); err != nil {
					return plan.Made{}, err
				}
				return plan.Made{}, notOurs(cc.RemoveSnapshotIfID(p.From.SourceName, s.Name, snap, snapID))
			}
		case model.StepVerify:
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				return plan.Made{}, verifyClone(ctx, d, p, secretUUID)
			}
		}
		acts = append(acts, a)
	}
	left, err := d.runner(events).Run(ctx, acts)
	res.Leftovers = left
	if err != nil {
		return res, err
	}
	if events != nil {
		events <- Event{Kind: Finished, Note: "clone " + s.Target() + "/" + s.To + " ready"}
	}
	return res, nil
}

// newCloneSecret defines the clone's own secret exactly as Create does:
// a new UUID, private, usage the clone's path, the fresh random
// passphrase pass (the caller clears it).
func newCloneSecret(ctx context.Context, d Deps, p PreparedClone, pass []byte) (string, plan.Made, error) {
	uuid, err := d.Libvirt.DefineVolumeSecret(ctx, p.TargetPath, model.SecretDescription(d.Host, p.To.Name, p.Spec.To))
	if err != nil {
		return "", plan.Made{}, err
	}
	made := plan.Made{What: "secret " + uuid, Identity: uuid, Command: "virsh secret-undefine " + uuid,
		Undo: func(ctx context.Context) error { return undefineSecret(ctx, d, uuid) }}
	return uuid, made, d.Libvirt.SetSecretValue(ctx, uuid, pass)
}

// cloneVolume copies the volume with libvirt; encrypted, under the
// clone's own secret (libvirt's qemu-img convert decrypts with the
// source's and encrypts with the new one).
func cloneVolume(ctx context.Context, d Deps, p PreparedClone, secretUUID string, rep plan.Report, res *Result) (plan.Made, error) {
	s := p.Spec
	vs := model.VolumeSpec{Name: s.To, Capacity: p.Source.Capacity, Format: p.Source.Format}
	if model.FullAllocation(p.To.Type) {
		vs.Allocation = vs.Capacity
	}
	var ci *model.Cipher
	if secretUUID != "" {
		vs.Encryption = &model.Encryption{Format: "luks", SecretUUID: secretUUID}
		ci = sourceCipher(p.Source)
	}
	v, err := d.Libvirt.(Cloner).CloneVolumeWatched(ctx, s.Target(), vs, ci, s.Pool, s.Name, model.CreateWatch{
		Within: d.CreateTimeout, Interval: d.PollInterval, Progress: rep.Progress, Retried: rep.Retried})
	made, err := volumeMade(d, s.Target(), s.To, secretUUID, v, err)
	if err == nil {
		res.Path, res.Key = v.Path, v.Key
	}
	return made, err
}

// sourceCipher keeps the recommended XTS cipher when the source has it;
// anything else gets libvirt's default (libvirt describes a volume's
// cipher without its IV generator, so other ciphers cannot be repeated
// exactly).
func sourceCipher(v model.Volume) *model.Cipher {
	if v.Encryption == nil || v.Encryption.Cipher != "aes-256-xts" {
		return nil
	}
	ci, _ := model.ParseCipher(model.RecommendedCipher)
	return ci
}

// rbdImageMade records the new image by its id; the undo removes it only
// while it still has that id.
func rbdImageMade(ctx context.Context, d Deps, cl Ceph, p PreparedClone, res *Result) (plan.Made, error) {
	pool, name := p.To.SourceName, p.Spec.To
	cmd := "rbd rm " + commandQuote(p.TargetPath)
	id, err := cl.ImageID(pool, name)
	if err != nil {
		return plan.Made{What: "RBD image " + p.TargetPath, Command: cmd,
			Undo: func(context.Context) error {
				return fmt.Errorf("the id of image %s could not be read after it was made (%v), so nothing proves it is this run's: check it and remove it with `%s` if it is not someone's: %w",
					p.TargetPath, err, cmd, plan.ErrNotOurs)
			}}, err
	}
	res.Path, res.Key = p.TargetPath, p.TargetPath
	made := plan.Made{What: "RBD image " + p.TargetPath + " (id " + id + ")", Identity: id, Command: cmd,
		Undo: func(ctx context.Context) error {
			if err := notOurs(cl.RemoveImageIfID(pool, name, id)); err != nil {
				return err
			}
			return d.Libvirt.RefreshPool(ctx, p.To.Name)
		}}
	// Let libvirt's pool see the image, as the browser lists it.
	return made, d.Libvirt.RefreshPool(ctx, p.To.Name)
}

// verifyClone reads back the clone: it exists; encrypted, it names its own
// secret (not the source's), which is private with the clone's usage.
func verifyClone(ctx context.Context, d Deps, p PreparedClone, secretUUID string) error {
	s := p.Spec
	v, err := d.Libvirt.Volume(ctx, s.Target(), s.To)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if p.Kind == model.CloneLibrbdLUKS {
		return verifyLibrbdClone(ctx, d, p, secretUUID)
	}
	if secretUUID == "" {
		if v.Encryption != nil {
			return fmt.Errorf("verify: clone %s/%s is described as encrypted (%s), but this run gave it no secret", s.Target(), s.To, v.Encryption.Label())
		}
		return nil
	}
	switch {
	case v.Encryption == nil || v.Encryption.Format != "luks":
		return fmt.Errorf("verify: clone %s/%s has no LUKS encryption in libvirt's description", s.Target(), s.To)
	case v.Encryption.SecretUUID == p.SourceSecret:
		return fmt.Errorf("verify: clone %s/%s names the source's secret %s: %w", s.Target(), s.To, p.SourceSecret, ErrSharedKey)
	case v.Encryption.SecretUUID != secretUUID:
		return fmt.Errorf("verify: clone %s/%s names secret %s, not this run's %s", s.Target(), s.To, v.Encryption.SecretUUID, secretUUID)
	}
	if err := differentLUKSHeaders(ctx, d, p); err != nil {
		return err
	}
	sec, err := d.Libvirt.Secret(ctx, secretUUID)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if !sec.Private || sec.Ephemeral || sec.UsageID != p.TargetPath {
		return fmt.Errorf("verify: secret %s is private=%v ephemeral=%v usage=%q; want private, persistent, usage %q",
			secretUUID, sec.Private, sec.Ephemeral, sec.UsageID, p.TargetPath)
	}
	return nil
}

// verifyLibrbdClone checks a re-encrypted RBD clone: its own secret, found
// by the clone's usage as attach finds it, private, not the source's.
func verifyLibrbdClone(ctx context.Context, d Deps, p PreparedClone, secretUUID string) error {
	uuid, ok, err := d.Libvirt.SecretByVolumeUsage(ctx, p.TargetPath)
	switch {
	case err != nil:
		return fmt.Errorf("verify: %w", err)
	case !ok || uuid != secretUUID:
		return fmt.Errorf("verify: the secret with usage %s is %q (found %v), not this run's %s", p.TargetPath, uuid, ok, secretUUID)
	case uuid == p.SourceSecret:
		return fmt.Errorf("verify: clone %s has the source's secret: %w", p.TargetPath, ErrSharedKey)
	}
	sec, err := d.Libvirt.Secret(ctx, secretUUID)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if !sec.Private || sec.Ephemeral {
		return fmt.Errorf("verify: secret %s is private=%v ephemeral=%v; want private, persistent", secretUUID, sec.Private, sec.Ephemeral)
	}
	return nil
}

// readerDisk is the temporary reader as the helper domain's source disk:
// decrypted by librbd with the SOURCE's secret (the reader shares its
// parent's LUKS header).
func (p PreparedClone) readerDisk() model.DiskSpec {
	return p.rbdDisk(p.From, p.From.SourceName+"/"+model.CloneReaderName(p.Spec.To), p.SourceSecret)
}

// cloneDisk is the new image, encrypted by librbd with its own secret.
func (p PreparedClone) cloneDisk(secretUUID string) model.DiskSpec {
	return p.rbdDisk(p.To, p.TargetPath, secretUUID)
}

func (p PreparedClone) rbdDisk(pool model.Pool, image, secret string) model.DiskSpec {
	format := p.LUKSFormat
	if format == "luks1" {
		format = "luks" // libvirt's name for LUKS1 with librbd
	}
	return model.DiskSpec{Format: "raw", RBD: image, Monitors: pool.SourceHosts, AuthUser: pool.AuthUser, AuthSecretUUID: pool.AuthSecretUUID,
		Encryption: &model.Encryption{Format: format, Engine: "librbd", SecretUUID: secret}}
}

// luksUUID is where a LUKS1 or LUKS2 binary header keeps the header's
// UUID: new for every format, equal in a byte copy.
const luksUUIDAt, luksUUIDLen = 168, 40

// differentLUKSHeaders reads the first bytes of source and clone: the
// clone must be LUKS, with a header of its own. libvirt's description
// (the <encryption> naming the new secret) is not proof: a backend that
// copies bytes keeps the source's header and key under it.
func differentLUKSHeaders(ctx context.Context, d Deps, p PreparedClone) error {
	cl := d.Libvirt.(Cloner)
	n := uint64(luksUUIDAt + luksUUIDLen)
	src, err := cl.ReadVolumeHead(ctx, p.Spec.Pool, p.Spec.Name, n)
	if err != nil {
		return fmt.Errorf("verify: read the source's LUKS header: %w", err)
	}
	dst, err := cl.ReadVolumeHead(ctx, p.Spec.Target(), p.Spec.To, n)
	if err != nil {
		return fmt.Errorf("verify: read the clone's LUKS header: %w", err)
	}
	switch {
	case LUKSVersion(dst) == 0:
		return fmt.Errorf("verify: clone %s/%s has no LUKS header", p.Spec.Target(), p.Spec.To)
	case len(src) >= int(n) && len(dst) >= int(n) && bytes.Equal(src[luksUUIDAt:n], dst[luksUUIDAt:n]):
		return fmt.Errorf("verify: clone %s/%s has the source's LUKS header (a byte copy: it opens with the source's passphrase): %w", p.Spec.Target(), p.Spec.To, ErrSharedKey)
	}
	return nil
}
