package pool

import (
	"errors"
	"fmt"
	"strings"

	"stowage/model"
	"stowage/plan"
)

// Action is one of the pool actions.
type Action string

// The pool actions, as the CLI's verbs name them.
const (
	Start     Action = "start"
	Stop      Action = "stop"
	Refresh   Action = "refresh"
	Autostart Action = "autostart"
	Build     Action = "build"
	Delete    Action = "delete"
	Undefine  Action = "undefine"
)

// Actions lists every action, in the order the help names them.
func Actions() []Action { return []Action{Start, Stop, Refresh, Autostart, Build, Delete, Undefine} }

// ParseAction checks a verb.
func ParseAction(s string) (Action, error) {
	for _, a := range Actions() {
		if string(a) == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("unknown pool action %q: use start, stop, refresh, autostart, build, delete or undefine", s)
}

// Spec is what the admin asked for.
type Spec struct {
	Action Action
	Pool   string
	// Off clears autostart (Autostart); the default sets it.
	Off bool
	// Overwrite lets build wipe what the devices hold (Build).
	Overwrite bool
}

// Dangerous reports whether the action needs the pool's name typed to
// confirm: it cuts VMs off their disks (stop), destroys data (delete,
// build with overwrite) or makes the pool vanish from libvirt (undefine).
func (s Spec) Dangerous() bool {
	switch s.Action {
	case Stop, Delete, Undefine:
		return true
	case Build:
		return s.Overwrite
	}
	return false
}

// Verb names the action in messages and the audit log ("build
// (overwrite)", "autostart off").
func (s Spec) Verb() string {
	switch {
	case s.Action == Autostart && s.Off:
		return "autostart off"
	case s.Action == Autostart:
		return "autostart on"
	case s.Action == Build && s.Overwrite:
		return "build (overwrite)"
	}
	return string(s.Action)
}

// Step IDs of the pool actions' plans.
const (
	StepStart     model.StepID = "pool-start"
	StepInspect   model.StepID = "pool-inspect"
	StepStop      model.StepID = "pool-stop"
	StepRefresh   model.StepID = "pool-refresh"
	StepAutostart model.StepID = "pool-autostart"
	StepBuild     model.StepID = "pool-build"
	StepDelete    model.StepID = "pool-delete"
	StepUndefine  model.StepID = "pool-undefine"
)

// ErrRefused marks every refusal: nothing was changed.
var ErrRefused = errors.New("refused")

// refusal wraps ErrRefused with the reason the admin reads.
func refusal(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// Prepared is an action checked against the pool as read: the pool's
// identity (UUID) is what Run acts on.
type Prepared struct {
	Spec Spec
	Host string
	Pool model.Pool
	// Steps are the plan (empty when Already).
	Steps []model.Step
	// Already says why nothing needs doing ("pool x is already running").
	Already string
	// Warnings are shown before the confirmation: VMs that are shut off
	// but use the pool (stop), what undefine leaves in place.
	Warnings []string
}

// Result is what an action did.
type Result struct {
	Host      string          `json:"host"`
	Pool      string          `json:"pool"`
	UUID      string          `json:"uuid"`
	Action    string          `json:"action"`
	Changed   bool            `json:"changed"`
	Notes     []string        `json:"notes,omitempty"`
	Leftovers []plan.Leftover `json:"leftovers,omitempty"`
}

// User is a VM disk in the pool. Running: the disk is in the live
// definition of a VM that runs (or is paused): in use now; else it is
// used from the VM's next start.
type User struct {
	Host    string `json:"host"`
	VM      string `json:"vm"`
	Disk    string `json:"disk"`
	Running bool   `json:"running"`
}

func (u User) String() string {
	state := "from its next start"
	if u.Running {
		state = "in use now"
	}
	return fmt.Sprintf("%s (disk %s, %s) on %s", u.VM, u.Disk, state, u.Host)
}

// listUsers names up to five users, then how many more.
func listUsers(us []User) string {
	var parts []string
	for i, u := range us {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(us)-5))
			break
		}
		parts = append(parts, u.String())
	}
	return strings.Join(parts, "; ")
}

// buildDoes says what build does for a pool type.
func buildDoes(t model.PoolType, overwrite bool) string {
	switch t {
	case model.PoolDir:
		return "create the directory"
	case model.PoolFS, model.PoolNetFS:
		if overwrite {
			return "create the mount point and make a new filesystem on the source device (its data is lost)"
		}
		return "create the mount point (and a filesystem where the device has none)"
	case model.PoolLogical:
		if overwrite {
			return "pvcreate -ff and vgcreate on the source devices (what they hold is lost)"
		}
		return "pvcreate and vgcreate on the source devices (refused where a device carries a signature)"
	case model.PoolDisk:
		return "write a new partition label on the disk (its partitions are lost)"
	}
	return "build it as libvirt's " + string(t) + " backend does"
}

// deleteDoes says what delete does for a pool type.
func deleteDoes(t model.PoolType) string {
	switch t {
	case model.PoolDir, model.PoolFS, model.PoolNetFS:
		return "remove its directory (rmdir: only when empty)"
	case model.PoolLogical:
		return "vgremove its VG and pvremove its devices"
	}
	return "delete its storage as libvirt's " + string(t) + " backend does"
}

// guardsDevices: pool types built on source devices, where a build
// without overwrite asks libvirt to refuse devices that carry a signature
// (a filesystem, a PV, a partition table). A dir pool has no device.
func guardsDevices(t model.PoolType) bool {
	switch t {
	case model.PoolFS, model.PoolLogical, model.PoolDisk:
		return true
	}
	return false
}
