package libvirtx

// Defining a pool of any type (stowage pool define, the define-pool form):
// the XML of the types the first-pool form does not make, and the define
// plan (secret, define, build, start, autostart) run through plan.Runner.
// Each step records the identity of what it made (secret UUID, pool
// UUID); an undo acts on that identity only, so a pool or VG that existed
// before the run, or that another admin defined meanwhile, is never
// touched.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"stowage/model"
	"stowage/plan"
)

// otherPoolXML fills x (type and name set) for fs, netfs, logical, disk,
// iscsi and iscsi-direct.
func otherPoolXML(x libvirtxml.StoragePool, s model.PoolSpec) (string, error) {
	src := &libvirtxml.StoragePoolSource{}
	for _, d := range s.Devices {
		src.Device = append(src.Device, libvirtxml.StoragePoolSourceDevice{Path: d})
	}
	format := func(f string) {
		if f != "" {
			src.Format = &libvirtxml.StoragePoolSourceFormat{Type: f}
		}
	}
	switch s.Type {
	case "fs":
		format(s.Format)
		x.Target = &libvirtxml.StoragePoolTarget{Path: s.Path}
	case "netfs":
		src.Host = []libvirtxml.StoragePoolSourceHost{{Name: s.SourceHost}}
		src.Dir = &libvirtxml.StoragePoolSourceDir{Path: s.SourcePath}
		f := s.Format
		if f == "" {
			f = "nfs"
		}
		format(f)
		x.Target = &libvirtxml.StoragePoolTarget{Path: s.Path}
	case "logical":
		src.Name = s.VG
		format("lvm2")
		x.Target = &libvirtxml.StoragePoolTarget{Path: s.TargetPath()}
	case "disk":
		format(s.Format)
		x.Target = &libvirtxml.StoragePoolTarget{Path: s.TargetPath()}
	case "iscsi", "iscsi-direct":
		host, port, err := model.ParsePortal(s.Portal)
		if err != nil {
			return "", err
		}
		src.Host = []libvirtxml.StoragePoolSourceHost{{Name: host, Port: strconv.Itoa(port)}}
		src.Device = []libvirtxml.StoragePoolSourceDevice{{Path: s.IQN}}
		if s.Initiator != "" {
			src.Initiator = &libvirtxml.StoragePoolSourceInitiator{IQN: libvirtxml.StoragePoolSourceInitiatorIQN{Name: s.Initiator}}
		}
		if s.CHAPUser != "" {
			if s.CHAPUsage == "" {
				return "", fmt.Errorf("%s pool %q: CHAP user %q without the usage of its secret", s.Type, s.Name, s.CHAPUser)
			}
			src.Auth = &libvirtxml.StoragePoolSourceAuth{Type: "chap", Username: s.CHAPUser,
				Secret: &libvirtxml.StoragePoolSourceAuthSecret{Usage: s.CHAPUsage}}
		}
		if s.Type == "iscsi" {
			x.Target = &libvirtxml.StoragePoolTarget{Path: model.ByPathDir}
		}
	}
	x.Source = src
	return x.Marshal()
}

// secretUsageOf is the usage type and id of the secret the plan defines
// for s (rbd: cephx; iscsi: CHAP), or empty when it defines none.
func secretUsageOf(s model.PoolSpec) (usageType, usage string) {
	switch {
	case s.Type == "rbd" && s.CephSecretUUID == "":
		return "ceph", s.SecretUsage()
	case (s.Type == "iscsi" || s.Type == "iscsi-direct") && s.CHAPUser != "":
		return "iscsi", s.CHAPUsage
	}
	return "", ""
}

// DefinePool defines (and builds, starts, autostarts, as s asks) a pool of
// any type through r. It refuses, audited and before changing anything, a
// spec that does not validate, a name the host has, a secret usage that
// is taken, a new VG whose name exists or an existing VG that does not.
// secret is the cephx key (rbd, raw bytes) or the CHAP secret; it is
// cleared before DefinePool returns. On a failure, such as a start whose
// mount fails, r undoes what this run made and the error says what.
func (c *Conn) DefinePool(ctx context.Context, r plan.Runner, s model.PoolSpec, secret []byte) ([]plan.Leftover, error) {
	defer clear(secret)
	object := "pool " + s.Name
	if err := c.PreflightDefine(ctx, s); err != nil {
		var refused refusedDefine
		if errors.As(err, &refused) {
			return nil, r.Refuse("define pool", object, err)
		}
		return nil, err
	}
	if ut, _ := secretUsageOf(s); ut != "" && len(secret) == 0 {
		what := "the cephx key of client." + s.CephUser
		if ut == "iscsi" {
			what = "the CHAP secret of user " + s.CHAPUser
		}
		return nil, r.Refuse("define pool", object, fmt.Errorf("%s pool %q needs %s", s.Type, s.Name, what))
	}
	acts, err := c.DefinePoolActions(s, secret)
	if err != nil {
		return nil, r.Refuse("define pool", object, err)
	}
	return r.Run(ctx, acts)
}

// refusedDefine marks a preflight failure that is a refusal (the host
// state or the input says no), not a failed call.
type refusedDefine struct{ error }

func (r refusedDefine) Unwrap() error { return r.error }

// IsRefusal reports a DefinePool error that refused before changing
// anything (audited as refused).
func IsRefusal(err error) bool {
	var r refusedDefine
	return errors.As(err, &r) || errors.Is(err, ErrExists)
}

// PreflightDefine checks s against the host without changing it: the
// spec's own rules (model.ValidateDefine, with the host's pool names),
// the secret usage, and the volume group. A refusal wraps refusedDefine.
func (c *Conn) PreflightDefine(ctx context.Context, s model.PoolSpec) error {
	pools, err := c.Pools(ctx)
	if err != nil {
		return fmt.Errorf("list the host's pools: %w", err)
	}
	var names []string
	for _, p := range pools {
		names = append(names, p.Name)
	}
	if err := model.ValidateDefine(s, names); err != nil {
		return refusedDefine{err}
	}
	if ut, usage := secretUsageOf(s); ut != "" {
		typ := libvirt.SecretUsageTypeCeph
		if ut == "iscsi" {
			typ = libvirt.SecretUsageTypeIscsi
		}
		sec, err := call(ctx, c, fmt.Sprintf("look up %s secret %q", ut, usage), func(l *libvirt.Libvirt) (libvirt.Secret, error) {
			return l.SecretLookupByUsage(int32(typ), usage)
		})
		switch {
		case err == nil:
			return refusedDefine{fmt.Errorf("a %s secret with usage %q %w (uuid %s): another pool's, or left by an earlier run; remove it (virsh secret-undefine %s) or pick another pool name",
				ut, usage, ErrExists, FormatUUID(sec.UUID), FormatUUID(sec.UUID))}
		case !IsNotFound(err):
			return err
		}
	}
	if s.Type == "logical" {
		return c.preflightVG(ctx, s)
	}
	return nil
}

func (c *Conn) preflightVG(ctx context.Context, s model.PoolSpec) error {
	vgs, err := c.VolumeGroups(ctx)
	if err != nil {
		return fmt.Errorf("list the host's volume groups: %w", err)
	}
	var names []string
	for _, vg := range vgs {
		if vg.Name == s.VG {
			if s.NewVG() {
				return refusedDefine{fmt.Errorf("volume group %q exists on this host (on %s): drop --source-dev to define a pool over it, or name a new VG", s.VG, strings.Join(vg.Devices, ", "))}
			}
			return nil
		}
		names = append(names, vg.Name)
	}
	if !s.NewVG() {
		have := "the host has none"
		if len(names) > 0 {
			have = "the host has " + strings.Join(names, ", ")
		}
		return refusedDefine{fmt.Errorf("volume group %q does not exist (%s): pick one, or give --source-dev to create it", s.VG, have)}
	}
	return nil
}

// DefinePoolActions are the steps of model.DefinePlan(s) as plan actions.
// secret is read by the secret step; the caller clears it.
func (c *Conn) DefinePoolActions(s model.PoolSpec, secret []byte) ([]plan.Action, error) {
	if _, err := PoolSpecXML(s, "00000000-0000-0000-0000-000000000000"); err != nil {
		return nil, err
	}
	var secretUUID, poolUUID string
	object := "pool " + s.Name
	var acts []plan.Action
	for _, st := range model.DefinePlan(s) {
		a := plan.Action{Step: st, Object: object}
		switch st.ID {
		case model.StepPoolSecret:
			ut, usage := secretUsageOf(s)
			a.Audit, a.Object = "define secret", fmt.Sprintf("%s secret %q", ut, usage)
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				desc := "cephx key of client." + s.CephUser + " for pool " + s.Name
				if ut == "iscsi" {
					desc = "CHAP secret of " + s.CHAPUser + " for pool " + s.Name
				}
				uuid, err := c.DefineSecret(ctx, SecretSpec{UsageType: ut, UsageID: usage, Description: desc}, secret)
				if err != nil {
					return plan.Made{}, err
				}
				secretUUID = uuid
				return plan.Made{What: "secret " + uuid, Identity: uuid, Command: "virsh secret-undefine " + uuid,
					Undo: func(ctx context.Context) error { return c.undefineSecretOfUsage(ctx, uuid, ut, usage) }}, nil
			}
		case model.StepPoolDefine:
			a.Audit = "define pool"
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				doc, err := PoolSpecXML(s, secretUUID)
				if err != nil {
					return plan.Made{}, err
				}
				h, err := call(ctx, c, fmt.Sprintf("define %s pool %q", s.Type, s.Name), func(l *libvirt.Libvirt) (libvirt.StoragePool, error) {
					return l.StoragePoolDefineXML(doc, 0)
				})
				if err != nil {
					// Another admin's pool of that name (defined since the
					// review) is theirs: nothing was made, nothing is undone.
					return plan.Made{}, err
				}
				poolUUID = FormatUUID(h.UUID)
				return plan.Made{What: fmt.Sprintf("pool %s (uuid %s)", s.Name, poolUUID), Identity: poolUUID,
					Command: "virsh pool-undefine " + poolUUID,
					Undo: func(ctx context.Context) error {
						return c.onOurPool(ctx, "undefine", s.Name, poolUUID, func(l *libvirt.Libvirt, h libvirt.StoragePool) error {
							return l.StoragePoolUndefine(h)
						})
					}}, nil
			}
		case model.StepPoolBuild:
			a.Audit = "build pool"
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) { return c.buildDefined(ctx, s, poolUUID) }
		case model.StepPoolStart:
			a.Audit = "start pool"
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) { return c.startDefined(ctx, s, poolUUID) }
		case model.StepPoolAutostart:
			a.Audit = "autostart pool"
			a.Do = func(ctx context.Context, _ plan.Report) (plan.Made, error) {
				if err := c.onOurPool(ctx, "autostart", s.Name, poolUUID, func(l *libvirt.Libvirt, h libvirt.StoragePool) error {
					return l.StoragePoolSetAutostart(h, 1)
				}); err != nil {
					return plan.Made{}, err
				}
				return plan.Made{What: fmt.Sprintf("autostart of pool %s (uuid %s)", s.Name, poolUUID), Identity: poolUUID,
					Command: "virsh pool-autostart --disable " + poolUUID,
					Undo: func(ctx context.Context) error {
						return c.onOurPool(ctx, "clear autostart of", s.Name, poolUUID, func(l *libvirt.Libvirt, h libvirt.StoragePool) error {
							return l.StoragePoolSetAutostart(h, 0)
						})
					}}, nil
			}
		}
		acts = append(acts, a)
	}
	return acts, nil
}

// buildDefined runs pool-build as s's build mode asks and records what it
// made: the directory (dir, fs, netfs; only when it did not exist), or
// the new VG (removed again by pool-delete: vgremove and pvremove). A
// filesystem or a label cannot be taken back; the undo says so and keeps it.
func (c *Conn) buildDefined(ctx context.Context, s model.PoolSpec, poolUUID string) (plan.Made, error) {
	mode := s.BuildMode()
	var flags libvirt.StoragePoolBuildFlags
	switch mode {
	case model.BuildNoOverwrite:
		flags = libvirt.StoragePoolBuildNoOverwrite
	case model.BuildOverwrite:
		flags = libvirt.StoragePoolBuildOverwrite
	}
	dirExisted, dirKnown := false, true
	if s.Path != "" {
		dirExisted, dirKnown = c.localPathExists(s.Path)
	}
	if err := c.onOurPool(ctx, "build", s.Name, poolUUID, func(l *libvirt.Libvirt, h libvirt.StoragePool) error {
		return l.StoragePoolBuild(h, flags)
	}); err != nil {
		return plan.Made{}, err
	}
	deletePool := func(ctx context.Context) error {
		return c.onOurPool(ctx, "delete (pool-delete)", s.Name, poolUUID, func(l *libvirt.Libvirt, h libvirt.StoragePool) error {
			return l.StoragePoolDelete(h, 0)
		})
	}
	switch s.Type {
	case "logical":
		m := plan.Made{What: fmt.Sprintf("volume group %s on %s", s.VG, strings.Join(s.Devices, ", ")), Identity: poolUUID,
			Command: fmt.Sprintf("vgremove %s && pvremove %s", s.VG, strings.Join(s.Devices, " ")), Undo: deletePool}
		// The VG is made: its undo stands even if the redefinition fails.
		return m, c.namePVsAsLVM(ctx, s, poolUUID)
	case "disk":
		return plan.Made{What: fmt.Sprintf("%s label on %s", s.Format, strings.Join(s.Devices, "")), Identity: poolUUID,
			Command: "wipefs -a " + strings.Join(s.Devices, ""),
			Undo: func(context.Context) error {
				return fmt.Errorf("%w: a partition label cannot be taken back without wiping %s; left in place (wipefs -a %s removes it)",
					plan.ErrNotOurs, strings.Join(s.Devices, ""), strings.Join(s.Devices, ""))
			}}, nil
	}
	m := plan.Made{What: "directory " + s.Path, Identity: poolUUID, Command: "rmdir " + s.Path}
	if s.Type == "fs" && mode != model.BuildMkdir {
		// The rollback names what it cannot take back.
		m.What += " (the " + s.Format + " filesystem made on " + strings.Join(s.Devices, "") + " stays)"
	}
	switch {
	case dirKnown && dirExisted:
		return plan.Made{}, nil // nothing made: the directory was there
	case !dirKnown:
		m.Undo = func(context.Context) error {
			return fmt.Errorf("%w: cannot tell whether %s existed before this run on a remote host; left in place (rmdir %s if it is empty and unused)",
				plan.ErrNotOurs, s.Path, s.Path)
		}
	default:
		// pool-delete on dir, fs and netfs pools is rmdir of the target:
		// it fails, and names the leftover, if anything was put inside.
		m.Undo = deletePool
	}
	return m, nil
}

// namePVsAsLVM redefines a new VG's pool (same UUID) with its devices as
// LVM names its PVs: libvirt starts a logical pool only when every source
// device matches a PV path exactly, so a /dev/disk/by-path name given for
// the build would make the start fail.
func (c *Conn) namePVsAsLVM(ctx context.Context, s model.PoolSpec, poolUUID string) error {
	vgs, err := c.VolumeGroups(ctx)
	if err != nil {
		return fmt.Errorf("read back VG %s: %w", s.VG, err)
	}
	i := slices.IndexFunc(vgs, func(v model.VolumeGroup) bool { return v.Name == s.VG })
	if i < 0 {
		return fmt.Errorf("VG %s is not on the host after the build", s.VG)
	}
	pvs := slices.Sorted(slices.Values(vgs[i].Devices))
	if slices.Equal(pvs, slices.Sorted(slices.Values(s.Devices))) {
		return nil
	}
	named := s
	named.Devices = pvs
	doc, err := PoolSpecXML(named, "")
	if err != nil {
		return err
	}
	var x libvirtxml.StoragePool
	if err := x.Unmarshal(doc); err != nil {
		return fmt.Errorf("pool XML: %w", err)
	}
	x.UUID = poolUUID
	if doc, err = x.Marshal(); err != nil {
		return fmt.Errorf("pool XML: %w", err)
	}
	return c.onOurPool(ctx, "name the PVs of", s.Name, poolUUID, func(l *libvirt.Libvirt, _ libvirt.StoragePool) error {
		_, err := l.StoragePoolDefineXML(doc, 0)
		return err
	})
}

func (c *Conn) startDefined(ctx context.Context, s model.PoolSpec, poolUUID string) (plan.Made, error) {
	if err := c.onOurPool(ctx, "start", s.Name, poolUUID, func(l *libvirt.Libvirt, h libvirt.StoragePool) error {
		return l.StoragePoolCreate(h, 0)
	}); err != nil {
		return plan.Made{}, explainStart(s, err)
	}
	return plan.Made{What: fmt.Sprintf("pool %s running (uuid %s)", s.Name, poolUUID), Identity: poolUUID,
		Command: "virsh pool-destroy " + poolUUID,
		Undo: func(ctx context.Context) error {
			return c.onOurPool(ctx, "stop", s.Name, poolUUID, func(l *libvirt.Libvirt, h libvirt.StoragePool) error {
				if on, err := l.StoragePoolIsActive(h); err != nil || on == 0 {
					return err
				}
				return l.StoragePoolDestroy(h)
			})
		}}, nil
}

// explainStart names what a failed start means for the types whose start
// mounts or logs in; libvirt's own message stays whole after it.
func explainStart(s model.PoolSpec, err error) error {
	switch s.Type {
	case "netfs":
		return fmt.Errorf("mounting the NFS export %s:%s on %s failed; check the export exists (showmount -e %s) and the host can mount NFS: %w",
			s.SourceHost, s.SourcePath, s.Path, s.SourceHost, err)
	case "fs":
		return fmt.Errorf("mounting %s on %s failed; check it holds a %s filesystem (or build with --build): %w",
			strings.Join(s.Devices, ""), s.Path, cmpOr(s.Format, "known"), err)
	case "iscsi", "iscsi-direct":
		return fmt.Errorf("logging in to %s at %s failed; check the IQN, the portal, the initiator's ACL and CHAP: %w", s.IQN, s.Portal, err)
	}
	return err
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// undefineSecretOfUsage undefines secret uuid only while its usage is
// still usageType/usage (the one this run defined).
func (c *Conn) undefineSecretOfUsage(ctx context.Context, uuid, usageType, usage string) error {
	u, err := ParseUUID(uuid)
	if err != nil {
		return err
	}
	return c.do(ctx, "undefine secret "+uuid, func(l *libvirt.Libvirt) error {
		h, err := l.SecretLookupByUUID(u)
		if IsNotFound(err) {
			return fmt.Errorf("%w: secret %s is gone already", plan.ErrNotOurs, uuid)
		}
		if err != nil {
			return err
		}
		doc, err := l.SecretGetXMLDesc(h, 0)
		if err != nil {
			return err
		}
		var x libvirtxml.Secret
		if err := x.Unmarshal(doc); err != nil {
			return fmt.Errorf("secret %s XML: %w", uuid, err)
		}
		if x.Usage == nil || x.Usage.Type != usageType || !slices.Contains([]string{x.Usage.Name, x.Usage.Target}, usage) {
			return fmt.Errorf("%w: secret %s no longer has usage %s %q", plan.ErrNotOurs, uuid, usageType, usage)
		}
		return l.SecretUndefine(h)
	})
}
