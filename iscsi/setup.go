package iscsi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"stowage/libvirtx"
	"stowage/model"
)

// Host is what the LVM-on-iSCSI setup needs from a hypervisor. *libvirtx.Conn
// implements it; unit tests use a fake that records the calls.
type Host interface {
	FindISCSITargets(ctx context.Context, host string, port int, initiator string) ([]model.ISCSITarget, error)
	Pools(ctx context.Context) ([]model.Pool, error)
	PoolSourceOf(ctx context.Context, name string) (libvirtx.PoolSource, error)
	PoolDefine(ctx context.Context, xml string) error
	PoolStart(ctx context.Context, name string) error
	PoolBuild(ctx context.Context, name string, overwrite bool) error
	PoolAutostart(ctx context.Context, name string, on bool) error
	PoolStop(ctx context.Context, name string) error
	PoolDeleteData(ctx context.Context, name string) error
	PoolUndefine(ctx context.Context, name string) error
	RefreshPool(ctx context.Context, name string) error
	LUNs(ctx context.Context, pool string) ([]model.LUN, error)
	VolumeGroups(ctx context.Context) ([]model.VolumeGroup, error)
	VolumeByPath(ctx context.Context, path string) (pool, name string, err error)
	DefineCHAPSecret(ctx context.Context, usage, description string, value []byte) (string, error)
	CHAPSecretExists(ctx context.Context, usage string) (bool, error)
	RemoveCHAPSecret(ctx context.Context, usage string) error
}

var _ Host = (*libvirtx.Conn)(nil)

// Discover runs sendtargets discovery on the host against a portal.
func Discover(ctx context.Context, h Host, p Portal) ([]model.ISCSITarget, error) {
	ts, err := h.FindISCSITargets(ctx, p.Host, p.Port, "")
	if err != nil {
		return nil, Explain(err, p)
	}
	return ts, nil
}

// Request is what the admin chose: where, which target and LUNs, and names.
type Request struct {
	Portal Portal
	Target string
	// ISCSIPool names the iscsi pool when one must be defined; an existing
	// pool for the same portal and target is reused whatever its name.
	ISCSIPool string
	CHAP      *CHAP
	LUNs      []int
	VG, Pool  string
	// ConfirmOverwrite must equal the name of the volume group already on
	// the chosen LUNs (or, for LUNs holding another signature, the new VG's
	// name) before their data is overwritten.
	ConfirmOverwrite string
}

// DefaultISCSIPool is the iscsi pool name used when the admin names none.
func DefaultISCSIPool(logicalPool string) string { return logicalPool + "-luns" }

// StepStatus says what happened to a step.
type StepStatus string

// Step statuses.
const (
	StepRunning    StepStatus = "running"
	StepDone       StepStatus = "done"
	StepExisted    StepStatus = "existed"
	StepFailed     StepStatus = "failed"
	StepRolledBack StepStatus = "rolled-back"
)

// Step is one change to the host, with the virsh command that does the same
// and the XML it sent, for the admin to read and reproduce.
type Step struct {
	Title  string     `json:"title"`
	Virsh  string     `json:"virsh"`
	XML    string     `json:"xml,omitempty"`
	Status StepStatus `json:"status"`
	Error  string     `json:"error,omitempty"`
}

// Setup carries one LVM-on-iSCSI setup through its two phases (connect the
// target, then build the VG) and remembers what it changed, so that a
// failure undoes exactly that and nothing that existed before.
type Setup struct {
	h        Host
	req      Request
	progress func(Step)
	steps    []Step
	undo     []undoStep
	// iscsiPool is the iscsi pool in use (new or found); luns its LUNs.
	iscsiPool string
	luns      []model.LUN
}

type undoStep struct {
	title, virsh string
	fn           func(context.Context) error
}

// NewSetup starts a setup. progress, when set, sees each step as it starts
// and ends (it runs on the caller's goroutine).
func NewSetup(h Host, req Request, progress func(Step)) *Setup {
	if req.ISCSIPool == "" && req.Pool != "" {
		req.ISCSIPool = DefaultISCSIPool(req.Pool)
	}
	return &Setup{h: h, req: req, progress: progress}
}

// Bind sets the host and the progress callback, for a setup made before
// the host was at hand (the wizard connects inside its Cmds).
func (s *Setup) Bind(h Host, progress func(Step)) { s.h, s.progress = h, progress }

// ISCSIPoolNameFor names the iscsi pool for a target when the admin gives
// no name: "iscsi-" and the target's own name (after ':' in an IQN),
// reduced to characters pool names allow.
func ISCSIPoolNameFor(target string) string {
	name := target
	if i := strings.LastIndexByte(target, ':'); i >= 0 && i+1 < len(target) {
		name = target[i+1:]
	}
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '-'
		}
	}
	return "iscsi-" + string(b)
}

// Steps returns the steps so far.
func (s *Setup) Steps() []Step { return slices.Clone(s.steps) }

// ISCSIPool is the iscsi pool the setup uses, once ConnectTarget ran.
func (s *Setup) ISCSIPool() string { return s.iscsiPool }

// LUNs are the target's LUNs as last listed.
func (s *Setup) LUNs() []model.LUN { return slices.Clone(s.luns) }

// SetChoice records the LUNs, names and confirmation picked after the LUNs
// were listed (the wizard asks for them only then).
func (s *Setup) SetChoice(luns []int, vg, pool, confirm string) {
	s.req.LUNs, s.req.VG, s.req.Pool, s.req.ConfirmOverwrite = slices.Clone(luns), vg, pool, confirm
}

// step runs fn as a recorded step; undo, when set and fn succeeded, is
// remembered for Rollback.
func (s *Setup) step(ctx context.Context, title, virsh, xml string, fn func(context.Context) error, undo *undoStep) error {
	st := Step{Title: title, Virsh: virsh, XML: xml, Status: StepRunning}
	s.emit(st)
	if err := fn(ctx); err != nil {
		st.Status, st.Error = StepFailed, err.Error()
		s.steps = append(s.steps, st)
		s.emit(st)
		return err
	}
	st.Status = StepDone
	s.steps = append(s.steps, st)
	s.emit(st)
	if undo != nil {
		s.undo = append(s.undo, *undo)
	}
	return nil
}

func (s *Setup) existed(title, why string) {
	st := Step{Title: title, Status: StepExisted, Error: why}
	s.steps = append(s.steps, st)
	s.emit(st)
}

func (s *Setup) emit(st Step) {
	if s.progress != nil {
		s.progress(st)
	}
}

// Run does both phases and rolls back on failure (the headless path).
func (s *Setup) Run(ctx context.Context) error {
	if _, err := s.ConnectTarget(ctx); err != nil {
		return s.fail(ctx, err)
	}
	if err := s.BuildVG(ctx); err != nil {
		return s.fail(ctx, err)
	}
	return nil
}

func (s *Setup) fail(ctx context.Context, err error) error {
	if rerr := s.Rollback(ctx); rerr != nil {
		return fmt.Errorf("%w; rollback incomplete: %v", err, rerr)
	}
	return err
}

// Rollback undoes, newest first, every change this setup made. Objects that
// existed before are never touched. Every undo step is tried; the errors
// are joined.
func (s *Setup) Rollback(ctx context.Context) error {
	var errs []error
	for i := len(s.undo) - 1; i >= 0; i-- {
		u := s.undo[i]
		st := Step{Title: "undo: " + u.title, Virsh: u.virsh, Status: StepRolledBack}
		if err := u.fn(ctx); err != nil {
			st.Status, st.Error = StepFailed, err.Error()
			errs = append(errs, fmt.Errorf("%s: %w", u.title, err))
		}
		s.steps = append(s.steps, st)
		s.emit(st)
	}
	s.undo = nil
	return errors.Join(errs...)
}

// ConnectTarget makes sure an active, autostarted iscsi pool logs the host
// in to the target (defining one when none exists), and lists its LUNs.
func (s *Setup) ConnectTarget(ctx context.Context) ([]model.LUN, error) {
	r := s.req
	if _, err := ValidateName(r.Target); err != nil {
		return nil, err
	}
	if err := ValidatePoolName(r.ISCSIPool); err != nil {
		return nil, fmt.Errorf("iscsi pool: %w", err)
	}
	if r.CHAP != nil {
		if err := r.CHAP.Validate(); err != nil {
			return nil, err
		}
	}
	pools, err := s.h.Pools(ctx)
	if err != nil {
		return nil, err
	}
	name, existing, err := s.findISCSIPool(ctx, pools)
	if err != nil {
		return nil, err
	}
	s.iscsiPool = name
	if existing == nil {
		if err := s.defineISCSIPool(ctx); err != nil {
			return nil, Explain(err, r.Portal)
		}
	} else {
		s.existed("iscsi pool "+name, "already defined for this portal and target; reused")
	}
	active := existing != nil && existing.Active
	if !active {
		err := s.step(ctx, "start iscsi pool "+name+" (log in to "+r.Target+")", "virsh pool-start "+name, "",
			func(ctx context.Context) error { return s.h.PoolStart(ctx, name) },
			&undoStep{"stop iscsi pool " + name, "virsh pool-destroy " + name, func(ctx context.Context) error { return s.h.PoolStop(ctx, name) }})
		if err != nil {
			return nil, Explain(err, r.Portal)
		}
	} else if err := s.h.RefreshPool(ctx, name); err != nil {
		return nil, err
	}
	if existing == nil || !existing.Autostart {
		if err := s.autostart(ctx, "iscsi", name, existing != nil); err != nil {
			return nil, err
		}
	}
	return s.listLUNs(ctx, pools)
}

// findISCSIPool returns the pool to use: an existing iscsi pool for the
// same portal and target (resume), or the requested name when it is free.
func (s *Setup) findISCSIPool(ctx context.Context, pools []model.Pool) (string, *model.Pool, error) {
	want := s.req.Portal.String()
	for i, p := range pools {
		if p.Type != model.PoolISCSI {
			continue
		}
		src, err := s.h.PoolSourceOf(ctx, p.Name)
		if err != nil {
			return "", nil, err
		}
		if slices.Contains(src.Devices, s.req.Target) && slices.Contains(src.Hosts, want) {
			return p.Name, &pools[i], nil
		}
	}
	for _, p := range pools {
		if p.Name == s.req.ISCSIPool {
			return "", nil, fmt.Errorf("pool name %q is taken by a %s pool for something else; choose another iscsi pool name", p.Name, p.Type)
		}
	}
	return s.req.ISCSIPool, nil, nil
}

func (s *Setup) defineISCSIPool(ctx context.Context) error {
	r, name := s.req, s.req.ISCSIPool
	spec := libvirtx.ISCSIPoolSpec{Name: name, Host: r.Portal.Host, Port: r.Portal.Port, Target: r.Target}
	if r.CHAP != nil {
		usage := SecretUsage(name)
		spec.CHAPUser, spec.CHAPUsage = r.CHAP.User, usage
		// A secret with this usage but no pool is a leftover of an
		// interrupted run (the usage id names the pool): replace it.
		left, err := s.h.CHAPSecretExists(ctx, usage)
		if err != nil {
			return err
		}
		if left {
			if err := s.step(ctx, "remove leftover CHAP secret "+usage, "virsh secret-undefine <uuid of "+usage+">", "",
				func(ctx context.Context) error { return s.h.RemoveCHAPSecret(ctx, usage) }, nil); err != nil {
				return err
			}
		}
		secret := slices.Clone(r.CHAP.Secret)
		err = s.step(ctx, "define CHAP secret "+usage+" (private)", "virsh secret-define iscsi-secret.xml; virsh secret-set-value --file …", "",
			func(ctx context.Context) error {
				_, err := s.h.DefineCHAPSecret(ctx, usage, "stowage: CHAP secret of user "+r.CHAP.User+" for pool "+name, secret)
				return err
			},
			&undoStep{"remove CHAP secret " + usage, "virsh secret-undefine …", func(ctx context.Context) error { return s.h.RemoveCHAPSecret(ctx, usage) }})
		if err != nil {
			return err
		}
	}
	doc, err := libvirtx.ISCSIPoolXML(spec)
	if err != nil {
		return err
	}
	return s.step(ctx, "define iscsi pool "+name, "virsh pool-define "+name+".xml", doc,
		func(ctx context.Context) error { return s.h.PoolDefine(ctx, doc) },
		&undoStep{"undefine iscsi pool " + name, "virsh pool-undefine " + name, func(ctx context.Context) error { return s.h.PoolUndefine(ctx, name) }})
}

// listLUNs lists the iscsi pool's LUNs and marks those that hold a VG or
// belong to a logical pool.
func (s *Setup) listLUNs(ctx context.Context, pools []model.Pool) ([]model.LUN, error) {
	luns, err := s.h.LUNs(ctx, s.iscsiPool)
	if err != nil {
		return nil, err
	}
	vgs, err := s.h.VolumeGroups(ctx)
	if err != nil {
		return nil, err
	}
	byVol := map[string]int{}
	byPath := map[string]int{}
	for i, l := range luns {
		byVol[l.Volume], byPath[l.Path] = i, i
	}
	for _, vg := range vgs {
		for _, dev := range vg.Devices {
			pool, vol, err := s.h.VolumeByPath(ctx, dev)
			if err != nil || pool != s.iscsiPool {
				continue // a PV on another disk, or one libvirt cannot map
			}
			if i, ok := byVol[vol]; ok {
				luns[i].VG = vg.Name
			}
		}
	}
	for _, p := range pools {
		if p.Type != model.PoolLogical {
			continue
		}
		src, err := s.h.PoolSourceOf(ctx, p.Name)
		if err != nil {
			return nil, err
		}
		for _, d := range src.Devices {
			if i, ok := byPath[d]; ok {
				luns[i].Pool = p.Name
				if luns[i].VG == "" {
					luns[i].VG = src.Name
				}
			}
		}
		// Pools stowage defines name only their VG (see BuildVG).
		for i := range luns {
			if luns[i].VG != "" && luns[i].VG == src.Name {
				luns[i].Pool = p.Name
			}
		}
	}
	s.luns = luns
	return slices.Clone(luns), nil
}

// LUNsSummary renders LUN numbers as "1,2".
func LUNsSummary(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, ",")
}

func sortedUnique(ns []int) []int {
	out := slices.Clone(ns)
	sort.Ints(out)
	return slices.Compact(out)
}
