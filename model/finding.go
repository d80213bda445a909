package model

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
)

// Severity ranks a doctor finding. The order matters: findings are listed
// most severe first, and the hosts screen's banner counts those at Warning
// and above.
type Severity int

const (
	// SeverityInfo is worth knowing and costs nothing today (an orphan
	// secret, a pool that is not autostarted but that nothing uses).
	SeverityInfo Severity = iota
	// SeverityWarning will cost something later (a pool 90% full, an
	// over-committed pool, a stale lock on an image no VM runs from).
	SeverityWarning
	// SeverityCritical stops a VM from starting or a drive from attaching
	// now, or loses data (a missing secret, a gone volume, a full pool).
	SeverityCritical
)

var severityNames = [...]string{SeverityInfo: "info", SeverityWarning: "warning", SeverityCritical: "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalJSON writes the severity's name, so scripts read "critical", not 2.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a severity's name.
func (s *Severity) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	for i, n := range severityNames {
		if n == name {
			*s = Severity(i)
			return nil
		}
	}
	return fmt.Errorf("severity %q: want one of info, warning, critical", name)
}

// FixAction is a fix stowage can apply itself (behind a typed
// confirmation, written to the audit log). Kind names the action; Target
// is what it acts on, in the words of its Kind ("stowage/vm-disk-1" for a
// lock to break, a pool's name, a secret's UUID); Detail carries what else
// it needs (the lock's cookie and locker), never a secret.
type FixAction struct {
	Kind   string            `json:"kind"`
	Host   string            `json:"host,omitempty"`
	Target string            `json:"target"`
	Detail map[string]string `json:"detail,omitempty"`
}

// Fix kinds stowage can apply.
const (
	FixBreakLock     = "break-lock"     // remove a stale RBD lock
	FixStartPool     = "start-pool"     // start an inactive pool
	FixAutostartPool = "autostart-pool" // mark a pool autostart
	FixSetSecret     = "set-secret"     // define a missing secret, value typed in by the admin
)

// Finding is one thing `stowage doctor` found wrong.
type Finding struct {
	Severity Severity `json:"severity"`
	// Object is the thing that is wrong, as an admin names it: "pool
	// stowage-lab-dir on qemu:///system", "rbd image stowage/disk1".
	Object string `json:"object"`
	// Message says, in one sentence, what is wrong and what it costs.
	Message string `json:"message"`
	// Evidence is the call made and its answer ("virsh pool-info X: State
	// inactive"; "rbd lock ls stowage/d1: client.4123 …").
	Evidence string `json:"evidence"`
	// Fix is the stowage action that fixes it where one exists, else the
	// exact command an admin would run; empty when there is nothing to run.
	Fix string `json:"fix"`
	// Action is the fix stowage can apply itself, when Fix is a stowage
	// action.
	Action *FixAction `json:"action,omitempty"`
	// Check names the check that found it ("rbd.stale-lock").
	Check string `json:"check"`
	// Related names what the finding concerns, for `stowage doctor X`:
	// "vm:NAME", "pool:NAME", "drive:POOL/NAME", "secret:UUID",
	// "image:CEPHPOOL/NAME".
	Related []string `json:"related,omitempty"`
}

// Concerns reports whether the finding is about the VM, pool or drive
// (POOL/NAME) called name, or the secret or image of that name.
func (f Finding) Concerns(name string) bool {
	for _, r := range f.Related {
		if _, n, _ := cutKind(r); n == name {
			return true
		}
	}
	return false
}

func cutKind(r string) (kind, name string, ok bool) {
	for i := 0; i < len(r); i++ {
		if r[i] == ':' {
			return r[:i], r[i+1:], true
		}
	}
	return "", r, false
}

// SortFindings orders findings most severe first, then by object and
// check, so that two runs over the same faults print the same list.
func SortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Object, b.Object); c != 0 {
			return c
		}
		return cmp.Compare(a.Check, b.Check)
	})
}
