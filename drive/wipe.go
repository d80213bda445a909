package drive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"stowage/model"
	"stowage/plan"
)

// Transfers is what wipe, upload and download need of a host beyond
// Libvirt; *libvirtx.Conn has it. The stream calls cut their connection
// on a cancel or a stall: give them one of their own.
type Transfers interface {
	VolumeStamp(ctx context.Context, pool, name string) (model.Volume, model.VolumeStamp, error)
	WipeVolumeIf(ctx context.Context, pool, name string, algorithm uint32, within time.Duration,
		check func(model.Volume, model.VolumeStamp) error) error
	UploadVolumeIf(ctx context.Context, pool, name string, r io.Reader, length uint64, s model.Stream,
		check func(model.Volume, model.VolumeStamp) error) (uint64, error)
	DownloadVolumeIf(ctx context.Context, pool, name string, w io.Writer, s model.Stream,
		check func(model.Volume, model.VolumeStamp) error) (uint64, error)
}

// DefaultWipeTimeout bounds a wipe (libvirt reports no progress and cannot
// stop one; a multi-pass scrub of a large volume takes hours).
const DefaultWipeTimeout = 24 * time.Hour

// DefaultStall cuts a transfer when no byte moved for this long.
const DefaultStall = 2 * time.Minute

// TransferResult is a wipe, upload or download's result: the drive's
// Result plus what moved.
type TransferResult struct {
	Result
	Action    string `json:"action"`
	Algorithm string `json:"algorithm,omitempty"`
	File      string `json:"file,omitempty"`
	Bytes     uint64 `json:"bytes"`
	// Seconds and MiBPerSec are the stream's (or the wipe's) own time.
	Seconds   float64 `json:"seconds"`
	MiBPerSec float64 `json:"mib_per_sec,omitempty"`
}

// PreparedTransfer is a checked wipe, upload or download, ready for the
// admin's confirmation and then Run. Warnings are what the confirmation
// must say (an encrypted drive, a qcow2 header, scrub on the host).
type PreparedTransfer struct {
	Action    string // wipe, upload or download
	Pool      model.Pool
	Volume    model.Volume
	Stamp     model.VolumeStamp
	Algorithm string
	File      string
	// FileSize, for an upload, is the file's size when checked; fileID its
	// identity (dev and inode), which the run checks again.
	FileSize uint64
	fileID   fileID
	// Secret is the encrypted drive's secret UUID ("" when plain).
	Secret   string
	Step     model.Step
	Warnings []string
	ref      driveRef
	// Within bounds a wipe (DefaultWipeTimeout when zero); Stall a stream
	// (DefaultStall when zero).
	Within, Stall time.Duration
}

// result is the run's result before it runs: the drive, what the
// confirmation warned of, the action's own fields.
func (p PreparedTransfer) result(d Deps) TransferResult {
	r := TransferResult{Result: Result{Host: d.Host, Pool: p.Pool.Name, Name: p.Volume.Name, Path: p.Volume.Path, Key: p.Volume.Key,
		Size: p.Volume.Capacity, Notes: p.Warnings}, Action: p.Action, Algorithm: p.Algorithm}
	if p.Action != "wipe" {
		r.File, r.Algorithm = p.File, ""
	}
	if p.Secret != "" && p.Action != "upload" {
		r.SecretUUID = p.Secret
	}
	return r
}

// Object names the drive in the audit log: pool/name.
func (p PreparedTransfer) Object() string { return p.Pool.Name + "/" + p.Volume.Name }

func transfers(d Deps) (Transfers, error) {
	t, ok := d.Libvirt.(Transfers)
	if !ok {
		return nil, errors.New("this connection cannot wipe or stream volumes")
	}
	return t, nil
}

// prepareVolume reads the drive and its identity, its secret and who uses
// it; in use by any VM on any connected host is a refusal.
// poolOK, when given, judges the pool before the volume is read (a
// backend that cannot do the action is the first thing to say).
func prepareVolume(ctx context.Context, d Deps, action, pool, name string, poolOK func(model.Pool) error) (PreparedTransfer, error) {
	p := PreparedTransfer{Action: action}
	if pool == "" || name == "" {
		return p, fmt.Errorf("%s needs a pool and a volume name", action)
	}
	t, err := transfers(d)
	if err != nil {
		return p, err
	}
	if p.Pool, err = d.Libvirt.Pool(ctx, pool); err != nil {
		return p, err
	}
	if !p.Pool.Active {
		return p, fmt.Errorf("pool %s is not running: start it first", pool)
	}
	if poolOK != nil {
		if err := poolOK(p.Pool); err != nil {
			return p, err
		}
	}
	p.Volume, p.Stamp, err = t.VolumeStamp(ctx, pool, name)
	if errors.Is(err, model.ErrNotFound) {
		return p, fmt.Errorf("volume %s/%s does not exist", pool, name)
	}
	if err != nil {
		return p, err
	}
	p.ref = driveRef{pool: p.Pool, vol: p.Volume}
	if p.Pool.Type == model.PoolRBD {
		p.ref.rbdName = p.Pool.SourceName + "/" + name
		if uuid, ok, err := d.Libvirt.SecretByVolumeUsage(ctx, p.ref.rbdName); err != nil {
			return p, err
		} else if ok {
			p.Secret = uuid
		}
		p.Stamp.ImageID = rbdImageID(ctx, d, p.Pool, name)
	} else if p.Volume.Encryption != nil {
		p.Secret = p.Volume.Encryption.SecretUUID
		if p.Secret == "" {
			p.Secret = "(none named)"
		}
	}
	if err := notInUse(ctx, d, p.ref, p.Object()); err != nil {
		return p, err
	}
	return p, nil
}

// rbdImageID is Ceph's id of the image when Ceph can be reached, else "":
// the key (pool/image) is then the identity, which an image deleted and
// made again under the name keeps.
func rbdImageID(ctx context.Context, d Deps, pool model.Pool, name string) string {
	if d.Ceph == nil {
		return ""
	}
	cl, err := d.Ceph(ctx, pool)
	if err != nil {
		return ""
	}
	defer cl.Close()
	id, err := cl.ImageID(pool.SourceName, name)
	if err != nil {
		return ""
	}
	return id
}

func notInUse(ctx context.Context, d Deps, ref driveRef, obj string) error {
	users, running, err := usersOf(ctx, d, ref)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		why := "detach it first (its data must not change under a VM)"
		if running {
			why = "it is attached to a running VM: detach it first"
		}
		return fmt.Errorf("drive %s is in use by %v: %s", obj, users, why)
	}
	return nil
}

// stillTheOne checks, right before libvirt acts, that no VM uses the drive
// now and that Ceph's image id is still the one confirmed (reads that may
// span hosts and Ceph, so made first), and returns the check that libvirtx
// runs in the same sequence of calls as the action: the volume's key and
// change time are still the ones the admin confirmed.
func stillTheOne(ctx context.Context, d Deps, p PreparedTransfer) (func(model.Volume, model.VolumeStamp) error, error) {
	notSame := func(why error) error {
		return notOurs(fmt.Errorf("volume %s is not the one confirmed: %v; nothing done, check it again: %w", p.Object(), why, model.ErrNotTheSame))
	}
	if err := notInUse(ctx, d, p.ref, p.Object()); err != nil {
		return nil, err
	}
	imageID := p.Stamp.ImageID
	if p.Pool.Type == model.PoolRBD && imageID != "" {
		imageID = rbdImageID(ctx, d, p.Pool, p.Volume.Name)
	}
	return func(_ model.Volume, now model.VolumeStamp) error {
		now.ImageID = imageID
		if err := p.Stamp.Same(now); err != nil {
			return notSame(err)
		}
		return nil
	}, nil
}

// PrepareWipe checks a wipe: the algorithm (libvirt's, and one the pool's
// backend has), the drive not in use. An encrypted drive is allowed: the
// wipe overwrites its LUKS header, so its data is crypto-erased at once
// and its secret opens nothing any more (the warning says so, and that the
// secret is kept for the admin to undefine). Refusals are audited.
func PrepareWipe(ctx context.Context, d Deps, pool, name, algorithm string) (PreparedTransfer, error) {
	d = d.withDefaults()
	p, err := prepareWipe(ctx, d, pool, name, algorithm)
	if err != nil {
		d.refused("wipe volume", pool+"/"+name, err)
	}
	return p, err
}

func prepareWipe(ctx context.Context, d Deps, pool, name, algorithm string) (PreparedTransfer, error) {
	if algorithm == "" {
		algorithm = "zero"
	}
	if _, err := model.WipeAlgorithm(algorithm); err != nil {
		return PreparedTransfer{}, err
	}
	var note string
	p, err := prepareVolume(ctx, d, "wipe", pool, name, func(pl model.Pool) (err error) {
		note, err = model.WipeSupport(pl.Type, algorithm)
		return err
	})
	if err != nil {
		return p, err
	}
	p.Algorithm = algorithm
	if note != "" {
		p.Warnings = append(p.Warnings, note)
	}
	if p.Secret != "" {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the drive is encrypted: the wipe overwrites its LUKS header, so its data is crypto-erased at once "+
			"and its secret %s opens nothing any more (the secret is kept: undefine it with `virsh secret-undefine %s` when no longer needed)", p.Secret, p.Secret))
	}
	if p.Volume.Format != "" && p.Volume.Format != "raw" && p.Pool.Type != model.PoolRBD {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the volume is %s: its header is overwritten too, and libvirt then sees a raw volume (recreate it to use it as %s)", p.Volume.Format, p.Volume.Format))
	}
	p.Step = model.Step{ID: model.StepWipe, Title: fmt.Sprintf("wipe %s (%s)", p.Object(), algorithm)}
	return p, nil
}

// Wipe runs a prepared wipe: it checks again that the volume is the one
// confirmed and unused, then libvirt wipes it (no progress: a spinner).
// Nothing to undo: a wipe cannot be taken back.
func Wipe(ctx context.Context, d Deps, p PreparedTransfer, events chan<- Event) (TransferResult, error) {
	d = d.withDefaults()
	res := p.result(d)
	t, err := transfers(d)
	if err != nil {
		return res, err
	}
	alg, err := model.WipeAlgorithm(p.Algorithm)
	if err != nil {
		return res, d.runner(events).Refuse("wipe volume", p.Object(), err)
	}
	within := p.Within
	if within <= 0 {
		within = DefaultWipeTimeout
	}
	acts := []plan.Action{{Step: p.Step, Audit: "wipe volume " + p.Algorithm, Object: p.Object(),
		Do: func(_ context.Context, _ plan.Report) (plan.Made, error) {
			start := time.Now()
			// ctx, not the runner's: a cancel cuts the wait (libvirtd
			// finishes the wipe on its own).
			check, err := stillTheOne(ctx, d, p)
			if err != nil {
				return plan.Made{}, err
			}
			err = t.WipeVolumeIf(ctx, p.Pool.Name, p.Volume.Name, alg, within, check)
			res.Seconds = time.Since(start).Seconds()
			if err == nil {
				res.Bytes = p.Volume.Capacity
			}
			if err != nil && ctx.Err() != nil {
				err = fmt.Errorf("%w: stowage stopped waiting, but libvirtd finishes a wipe it has begun; the volume is being wiped (%v)", ErrCancelled, err)
			}
			return plan.Made{}, err
		}}}
	_, err = d.runner(events).Run(ctx, acts)
	return res, err
}
