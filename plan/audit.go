package plan

import (
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sync"
	"time"
)

// Record is one line of the audit log. It never holds a secret value.
type Record struct {
	Time time.Time `json:"time"`
	// User is the local account that ran stowage.
	User       string `json:"user"`
	Host       string `json:"host"`
	Action     string `json:"action"`
	Object     string `json:"object"`
	Result     string `json:"result"` // ok, failed, retried, refused, kept
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

// Audit results.
const (
	ResultOK      = "ok"
	ResultFailed  = "failed"
	ResultRetried = "retried"
	ResultRefused = "refused"
	// ResultKept: an undo found the object no longer the one this run made
	// (or could not prove it was) and left it alone.
	ResultKept = "kept"
)

// Audit appends records as JSON lines to one file.
type Audit struct {
	mu   sync.Mutex
	path string
	user string
}

// StateDir is $XDG_STATE_HOME/stowage, else ~/.local/state/stowage.
func StateDir() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "stowage")
}

// DefaultAuditPath is the audit log's usual place.
func DefaultAuditPath() string { return filepath.Join(StateDir(), "audit.jsonl") }

// NewAudit returns the audit log at path; the file and its directory are
// created (0600/0700) on the first record. Records name the local user.
func NewAudit(path string) *Audit { return &Audit{path: path, user: localUser()} }

func localUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return fmt.Sprintf("uid %d", os.Getuid())
}

// Path is the audit log's file.
func (a *Audit) Path() string { return a.path }

// Append writes one record (Time defaults to now, User to the local user).
func (a *Audit) Append(r Record) error {
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	if r.User == "" {
		r.User = a.user
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("audit record: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(a.path), 0o700); err != nil {
		return fmt.Errorf("audit log directory: %w", err)
	}
	f, err := os.OpenFile(a.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write audit log %s: %w", a.path, err)
	}
	return f.Close()
}
