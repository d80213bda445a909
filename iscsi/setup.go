package iscsi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"stowage/model"
	"stowage/plan"
)

// Host is what the LVM-on-iSCSI setup needs from a hypervisor, in model
// types and specs (never XML). *libvirtx.Conn implements it (libvirtx.go);
// unit tests use a fake that records the calls. Lookups of what the host
// does not have fail with errors matching model.ErrNotFound.
type Host interface {
	FindISCSITargets(ctx context.Context, host string, port int, initiator string) ([]model.ISCSITarget, error)
	Pools(ctx context.Context) ([]model.Pool, error)
	PoolSourceOf(ctx context.Context, name string) (model.PoolSource, error)
	// DefineISCSIPool and DefineLogicalPool define a pool and return its
	// UUID (the identity undo checks); a logical spec carrying the UUID of
	// the pool of that name redefines it.
	DefineISCSIPool(ctx context.Context, s model.ISCSIPoolSpec) (string, error)
	DefineLogicalPool(ctx context.Context, s model.LogicalPoolSpec) (string, error)
	PoolStart(ctx context.Context, name string) error
	PoolBuild(ctx context.Context, name string, overwrite bool) error
	PoolAutostart(ctx context.Context, name string, on bool) error
	// PoolIf acts on the pool called name only when check accepts its UUID.
	PoolIf(ctx context.Context, name string, act model.PoolAct, check func(uuid string) error) error
	PoolUUID(ctx context.Context, name string) (string, bool, error)
	RefreshPool(ctx context.Context, name string) error
	LUNs(ctx context.Context, pool string) ([]model.LUN, error)
	ReadVolumeHead(ctx context.Context, pool, vol string, n uint64) ([]byte, error)
	VolumeGroups(ctx context.Context) ([]model.VolumeGroup, error)
	VolumeByPath(ctx context.Context, path string) (pool, name string, err error)
	Domains(ctx context.Context) ([]model.Domain, error)
	DefineCHAPSecret(ctx context.Context, usage, description string, value []byte) (string, error)
	CHAPSecretUUID(ctx context.Context, usage string) (string, bool, error)
	RemoveCHAPSecretIf(ctx context.Context, usage string, check func(uuid string) error) error
}

// DiskUser is another connected host whose VMs' disks are checked: a LUN
// that any of them uses is refused.
type DiskUser interface {
	Domains(ctx context.Context) ([]model.Domain, error)
	VolumeByPath(ctx context.Context, path string) (pool, name string, err error)
}

// OtherHost is another connected host, named by its URI so that a refusal
// says where the VM is. Host is nil when it could not be reached; Err says
// why, and the LUN is refused: a VM there cannot be ruled out.
type OtherHost struct {
	URI  string
	Host DiskUser
	Err  error
}

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
	// ConfirmOverwrite must equal the Token of what this run's probe found
	// on exactly the chosen LUNs (Findings.Token) before their data is
	// overwritten; it must be empty when nothing was found.
	ConfirmOverwrite string
}

// DefaultISCSIPool is the iscsi pool name used when the admin names none.
func DefaultISCSIPool(logicalPool string) string { return logicalPool + "-luns" }

// ErrRefused marks an error of a check made before a phase changed
// anything: what earlier phases did stays in place.
var ErrRefused = errors.New("refused")

// refused is a refusal: audited, wrapping ErrRefused.
type refused struct{ err error }

func (r refused) Error() string   { return r.err.Error() }
func (r refused) Unwrap() []error { return []error{r.err, ErrRefused} }
func refusal(err error) error     { return refused{err} }

// StepStatus says what happened to a step.
type StepStatus string

// Step statuses.
const (
	StepRunning    StepStatus = "running"
	StepDone       StepStatus = "done"
	StepExisted    StepStatus = "existed"
	StepFailed     StepStatus = "failed"
	StepRolledBack StepStatus = "rolled-back"
	// StepKept: an undo found the object no longer the one this run made
	// and left it alone.
	StepKept StepStatus = "kept"
	// StepWarning: a note the admin must see (a failed audit write).
	StepWarning StepStatus = "warning"
)

// Step is the view model of one step for the CLI's JSON and the wizard:
// the change, the virsh command that does the same and the XML it sent,
// fed from plan.Runner's events (plan.Event carries no virsh or XML).
type Step struct {
	ID     model.StepID `json:"id,omitempty"`
	Title  string       `json:"title"`
	Virsh  string       `json:"virsh"`
	XML    string       `json:"xml,omitempty"`
	Status StepStatus   `json:"status"`
	Error  string       `json:"error,omitempty"`
}

// The steps of an LVM-on-iSCSI setup.
const (
	StepDefineSecret     model.StepID = "iscsi-define-chap-secret"
	StepDefineISCSIPool  model.StepID = "iscsi-define-pool"
	StepStartISCSIPool   model.StepID = "iscsi-start-pool"
	StepAutostartISCSI   model.StepID = "iscsi-autostart-pool"
	StepDefineLogical    model.StepID = "logical-define-pool"
	StepBuildVG          model.StepID = "logical-build-vg"
	StepRedefineLogical  model.StepID = "logical-redefine-by-vg"
	StepStartLogical     model.StepID = "logical-start-pool"
	StepAutostartLogical model.StepID = "logical-autostart-pool"
)

// SetupSteps lists every step a fresh setup runs, in order (CHAP adds the
// secret): what the rollback-after-each-step tests walk.
func SetupSteps(chap bool) []model.StepID {
	var out []model.StepID
	if chap {
		out = append(out, StepDefineSecret)
	}
	return append(out, StepDefineISCSIPool, StepStartISCSIPool, StepAutostartISCSI,
		StepDefineLogical, StepBuildVG, StepRedefineLogical, StepStartLogical, StepAutostartLogical)
}

// Setup carries one LVM-on-iSCSI setup through its two phases (connect the
// target, then build the VG). Every change runs through plan.Runner: each
// step records the identity (pool or secret UUID) of what it made, and
// its undo removes only the object that still has it. Objects that existed
// before are reused, never undone.
type Setup struct {
	h        Host
	req      Request
	progress func(Step)
	// Runner runs the steps (Host, Audit, Log, FailAfter from the caller;
	// Setup sets Events).
	Runner plan.Runner
	// Others are further connected hosts whose VMs must not use a chosen
	// LUN (one that cannot be reached refuses the LUN).
	Others []OtherHost

	mu    sync.Mutex
	steps []Step
	meta  map[model.StepID]Step
	// phase1 is what ConnectTarget made, for Rollback and for a failed
	// phase 2 of Run.
	phase1 []plan.Done
	// iscsiPool is the iscsi pool in use (new or found); luns its LUNs.
	iscsiPool, iscsiUUID string
	iscsiReused          bool
	luns                 []model.LUN
	// pvOf is the VG each LUN is a PV of, as LVM says (not inferred
	// from a pool definition), by LUN number.
	pvOf     map[int]string
	findings *Findings
}

// NewSetup starts a setup. progress, when set, sees each step as it starts
// and ends (it runs on one goroutine at a time, during the phase's call).
func NewSetup(h Host, req Request, progress func(Step)) *Setup {
	if req.ISCSIPool == "" && req.Pool != "" {
		req.ISCSIPool = DefaultISCSIPool(req.Pool)
	}
	return &Setup{h: h, req: req, progress: progress, meta: map[model.StepID]Step{}}
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
func (s *Setup) Steps() []Step {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.steps)
}

// ISCSIPool is the iscsi pool the setup uses, once ConnectTarget ran.
func (s *Setup) ISCSIPool() string { return s.iscsiPool }

// ISCSIPoolReused reports whether the iscsi pool existed before this
// setup (it was reused, and nothing of this setup's removes it).
func (s *Setup) ISCSIPoolReused() bool { return s.iscsiReused }

// LUNs are the target's LUNs as last listed.
func (s *Setup) LUNs() []model.LUN { return slices.Clone(s.luns) }

// Findings is what the last probe found on the chosen LUNs (nil before one ran).
func (s *Setup) Findings() *Findings { return s.findings }

// SetChoice records the LUNs, names and confirmation picked after the LUNs
// were listed (the wizard asks for them only then).
func (s *Setup) SetChoice(luns []int, vg, pool, confirm string) {
	s.req.LUNs, s.req.VG, s.req.Pool, s.req.ConfirmOverwrite = slices.Clone(luns), vg, pool, confirm
}

func (s *Setup) emit(st Step) {
	s.mu.Lock()
	if n := len(s.steps); n > 0 && st.Status != StepRunning && s.steps[n-1].Status == StepRunning && s.steps[n-1].ID == st.ID && st.ID != "" {
		s.steps[n-1] = st
	} else {
		s.steps = append(s.steps, st)
	}
	s.mu.Unlock()
	if s.progress != nil {
		s.progress(st)
	}
}

func (s *Setup) existed(title, why string) {
	s.emit(Step{Title: title, Status: StepExisted, Error: why})
}

// refuse audits a refusal and returns it marked ErrRefused.
func (s *Setup) refuse(action, object string, err error) error {
	s.Runner.Refuse(action, object, err)
	if errors.Is(err, ErrRefused) {
		return err
	}
	return refusal(err)
}

// action makes a plan action whose step carries its virsh command and XML.
func (s *Setup) action(id model.StepID, title, virsh, xml, audit, object string, do func(context.Context) (plan.Made, error)) plan.Action {
	s.mu.Lock()
	s.meta[id] = Step{ID: id, Title: title, Virsh: virsh, XML: xml}
	s.mu.Unlock()
	return plan.Action{Step: model.Step{ID: id, Title: title}, Audit: audit, Object: s.Runner.Host + " " + object,
		Do: func(ctx context.Context, _ plan.Report) (plan.Made, error) { return do(ctx) }}
}

// runPlan runs actions through the Runner, turning its events into Steps;
// keep, when set, collects what the steps made.
func (s *Setup) runPlan(ctx context.Context, acts []plan.Action, keep *[]plan.Done) error {
	if len(acts) == 0 {
		return nil
	}
	before := 0
	if keep != nil {
		before = len(*keep)
		for i := range acts {
			acts[i] = plan.Keep(acts[i], i, keep)
		}
	}
	ch := make(chan plan.Event)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range ch {
			s.event(e)
		}
	}()
	r := s.Runner
	r.Events = ch
	_, err := r.Run(ctx, acts)
	close(ch)
	<-done
	if err != nil && keep != nil {
		// The runner rolled back what this plan made.
		*keep = (*keep)[:before]
	}
	return err
}

// undo rolls back what an earlier phase made.
func (s *Setup) undo(cause error, done []plan.Done) error {
	ch := make(chan plan.Event)
	fin := make(chan struct{})
	go func() {
		defer close(fin)
		for e := range ch {
			s.event(e)
		}
	}()
	r := s.Runner
	r.Events = ch
	_, err := r.Undo(cause, done)
	close(ch)
	<-fin
	return err
}

// event turns a plan event into a Step for the view.
func (s *Setup) event(e plan.Event) {
	s.mu.Lock()
	m := s.meta[e.Step.ID]
	s.mu.Unlock()
	m.ID, m.Title = e.Step.ID, e.Step.Title
	errText := func() string {
		if e.Err != nil {
			return e.Err.Error()
		}
		return ""
	}
	switch e.Kind {
	case plan.StepStarted:
		m.Status = StepRunning
	case plan.StepDone:
		m.Status = StepDone
	case plan.StepFailed:
		m.Status, m.Error = StepFailed, errText()
	case plan.StepUndone:
		m = Step{ID: m.ID, Title: "undo: " + m.Title, Status: StepRolledBack, Error: e.Note}
	case plan.UndoKept:
		m = Step{ID: m.ID, Title: "undo: " + m.Title, Status: StepKept, Error: e.Note}
	case plan.UndoFailed:
		m = Step{ID: m.ID, Title: "undo: " + m.Title, Status: StepFailed, Error: e.Note}
	case plan.AuditFailed:
		m = Step{Title: "audit log", Status: StepWarning, Error: e.Note}
	default:
		return
	}
	s.emit(m)
}

// notOurs is the check an undo makes: the object must still carry the
// identity its step recorded.
func notOurs(what, want string) func(string) error {
	return func(got string) error {
		if got != want {
			return fmt.Errorf("%s now has UUID %s, not %s as this run made it: %w", what, got, want, plan.ErrNotOurs)
		}
		return nil
	}
}

// Validate checks everything the request says before anything changes:
// names, CHAP and, when given (headless), the LUNs, VG and pool names.
func (s *Setup) Validate() error {
	r := s.req
	if _, err := ValidateName(r.Target); err != nil {
		return err
	}
	if err := ValidatePoolName(r.ISCSIPool); err != nil {
		return fmt.Errorf("iscsi pool: %w", err)
	}
	if r.CHAP != nil {
		if err := r.CHAP.Validate(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Setup) validateChoice() error {
	r := s.req
	if err := ValidateVGName(r.VG); err != nil {
		return err
	}
	if err := ValidatePoolName(r.Pool); err != nil {
		return err
	}
	if len(r.LUNs) == 0 {
		return fmt.Errorf("choose at least one LUN")
	}
	if r.Pool == s.req.ISCSIPool {
		return fmt.Errorf("the logical pool and the iscsi pool cannot both be named %q", r.Pool)
	}
	return nil
}

// Run does both phases (the headless path). Everything that can be checked
// is checked before phase 1 changes anything. A refusal in phase 2 (what
// the probe found, a name taken) leaves phase 1 in place and says so; a
// failure while phase 2 changes the host rolls back both phases.
func (s *Setup) Run(ctx context.Context) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if err := s.validateChoice(); err != nil {
		return err
	}
	if err := s.precheckNames(ctx); err != nil {
		return err
	}
	if _, err := s.ConnectTarget(ctx); err != nil {
		return err
	}
	err := s.BuildVG(ctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrRefused):
		return fmt.Errorf("%w\n%s", err, s.Phase1Note())
	case len(s.phase1) > 0:
		done := s.phase1
		s.phase1 = nil
		return s.undo(err, done)
	}
	return err
}

// Phase1Note says what phase 1 left in place after a refusal in phase 2.
func (s *Setup) Phase1Note() string {
	if s.iscsiPool == "" {
		return ""
	}
	how := "it was there before this run"
	if !s.iscsiReused {
		how = "defined by this run"
	}
	return fmt.Sprintf("phase 1 stays in place: iscsi pool %s is logged in to %s (%s); rerun to continue, or remove it: virsh pool-destroy %s; virsh pool-undefine %s",
		s.iscsiPool, s.req.Target, how, s.iscsiPool, s.iscsiPool)
}

// Rollback undoes what phase 1 (ConnectTarget) made, newest first, each
// object only while it still carries the identity its step recorded.
func (s *Setup) Rollback(ctx context.Context) error {
	if len(s.phase1) == 0 {
		return nil
	}
	done := s.phase1
	s.phase1 = nil
	err := s.undo(errors.New("rollback asked for"), done)
	if err != nil && strings.Contains(err.Error(), "rollback incomplete") {
		return err
	}
	return nil
}
