package drive

import "stowage/plan"

// The audit log is package plan's (every mutation in stowage writes it).
type (
	// Record is one line of the audit log.
	Record = plan.Record
	// Audit appends records to the JSON-lines audit log.
	Audit = plan.Audit
)

// NewAudit returns the audit log at path.
func NewAudit(path string) *Audit { return plan.NewAudit(path) }

// StateDir is $XDG_STATE_HOME/stowage, else ~/.local/state/stowage.
func StateDir() string { return plan.StateDir() }
