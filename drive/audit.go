package drive

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Record is one line of the audit log. It never holds a secret value.
type Record struct {
	Time       time.Time `json:"time"`
	Host       string    `json:"host"`
	Action     string    `json:"action"`
	Object     string    `json:"object"`
	Result     string    `json:"result"`
	DurationMS int64     `json:"duration_ms"`
	Error      string    `json:"error,omitempty"`
}

// Audit appends records as JSON lines to one file.
type Audit struct {
	mu   sync.Mutex
	path string
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

// NewAudit returns the audit log at path; the file and its directory are
// created (0600/0700) on the first record.
func NewAudit(path string) *Audit { return &Audit{path: path} }

// Path is the audit log's file.
func (a *Audit) Path() string { return a.path }

// Append writes one record (Time defaults to now).
func (a *Audit) Append(r Record) error {
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
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
