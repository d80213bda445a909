package lab

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Secret is a secret value a test handed to stowage (a passphrase, a CHAP
// secret, a cephx key), with every form in which it could leak: the bytes
// themselves, their standard and URL-safe base64, their hex, and every run
// of Window bytes of each form (a truncated or wrapped line still leaks).
// Its String never shows the value, so a test may print it.
type Secret struct {
	name  string
	forms []secretForm
}

type secretForm struct {
	what   string
	needle []byte
}

// NewSecret describes a secret; value is what stowage was given, and
// related are other byte strings it was derived from or turns into (the
// random bytes under a passphrase, the raw key under its base64 text),
// searched for in the same forms.
func NewSecret(name string, value []byte, related ...[]byte) *Secret {
	s := &Secret{name: name}
	for i, v := range append([][]byte{value}, related...) {
		src := "value"
		if i > 0 {
			src = fmt.Sprintf("related[%d]", i-1)
		}
		encs := []struct {
			what string
			b    []byte
		}{
			{"as is", v},
			{"std base64", []byte(base64.StdEncoding.EncodeToString(v))},
			{"raw std base64", []byte(base64.RawStdEncoding.EncodeToString(v))},
			{"url base64", []byte(base64.URLEncoding.EncodeToString(v))},
			{"raw url base64", []byte(base64.RawURLEncoding.EncodeToString(v))},
			{"hex", []byte(hex.EncodeToString(v))},
			{"HEX", []byte(strings.ToUpper(hex.EncodeToString(v)))},
		}
		for _, e := range encs {
			s.add(src+" "+e.what, e.b, 8)
			for i := 0; i+Window < len(e.b); i++ {
				s.add(fmt.Sprintf("%s %s (bytes %d-%d)", src, e.what, i, i+Window), e.b[i:i+Window], Window)
			}
		}
	}
	return s
}

// Window is the shortest run of a secret's form searched for: 16 bytes
// of base64 or random bytes are 96 bits or more, 16 hex digits 64, so no
// log matches one by chance.
const Window = 16

func (s *Secret) add(what string, b []byte, atLeast int) {
	if len(b) < atLeast {
		// Too short to tell a leak from chance; the longer forms of the
		// same value are searched anyway.
		return
	}
	for _, f := range s.forms {
		if bytes.Equal(f.needle, b) {
			return
		}
	}
	s.forms = append(s.forms, secretForm{what, bytes.Clone(b)})
}

// String names the secret without its value.
func (s *Secret) String() string { return s.name }

// Find reports the first form of the secret found in hay, and where.
func (s *Secret) Find(hay []byte) (what string, at int, found bool) {
	for _, f := range s.forms {
		if i := bytes.Index(hay, f.needle); i >= 0 {
			return f.what, i, true
		}
	}
	return "", 0, false
}

// Redact replaces every byte of b covered by some form of the secret
// (overlapping matches are merged into one mark).
func (s *Secret) Redact(b []byte) []byte {
	hit := make([]bool, len(b))
	for _, f := range s.forms {
		for from := 0; from < len(b); {
			i := bytes.Index(b[from:], f.needle)
			if i < 0 {
				break
			}
			for k := from + i; k < from+i+len(f.needle); k++ {
				hit[k] = true
			}
			from += i + 1
		}
	}
	var out []byte
	for i := 0; i < len(b); i++ {
		if !hit[i] {
			out = append(out, b[i])
			continue
		}
		out = append(out, "[REDACTED "+s.name+"]"...)
		for i+1 < len(b) && hit[i+1] {
			i++
		}
	}
	return out
}

// AssertAbsent fails t when any form of the secret is in hay, naming the
// place and the offset, never the bytes.
func (s *Secret) AssertAbsent(t testing.TB, where string, hay []byte) {
	t.Helper()
	if what, at, ok := s.Find(hay); ok {
		t.Errorf("LEAK: the %s of %s appears in %s at byte %d", what, s.name, where, at)
	}
}

// AssertAbsentInFiles scans every regular file under dir (the test's
// XDG_STATE_HOME: the audit log, stowage.log, anything else written).
// It returns the files scanned, so the caller can insist the ones it
// expects were there (an absent log proves nothing).
func (s *Secret) AssertAbsentInFiles(t testing.TB, dir string) []string {
	t.Helper()
	var seen []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		seen = append(seen, rel)
		s.AssertAbsent(t, "file "+p, b)
		return nil
	})
	if err != nil {
		t.Errorf("scan %s: %v", dir, err)
	}
	return seen
}

// Guard wraps t so that nothing the test prints can carry a secret: each
// message is searched before it is printed; a hit is redacted and fails
// the test (the test's own output is a place a secret must not reach).
func Guard(t testing.TB, secrets ...*Secret) *Guarded {
	return &Guarded{TB: t, secrets: secrets}
}

// Guarded is a testing.TB whose Log/Error/Fatal (and -f) are searched for
// secrets first.
type Guarded struct {
	testing.TB
	mu      sync.Mutex
	secrets []*Secret
}

// Add guards one more secret (one made after the guard).
func (g *Guarded) Add(s *Secret) {
	g.mu.Lock()
	g.secrets = append(g.secrets, s)
	g.mu.Unlock()
}

func (g *Guarded) clean(msg string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := []byte(msg)
	for _, s := range g.secrets {
		if what, _, ok := s.Find(b); ok {
			b = s.Redact(b)
			g.TB.Errorf("LEAK: the test's own output would have carried the %s of %s (redacted below)", what, s.name)
		}
	}
	return string(b)
}

// Logf logs a searched message.
func (g *Guarded) Logf(format string, args ...any) {
	g.TB.Helper()
	g.TB.Log(g.clean(fmt.Sprintf(format, args...)))
}

// Log logs a searched message.
func (g *Guarded) Log(args ...any) { g.TB.Helper(); g.TB.Log(g.clean(fmt.Sprint(args...))) }

// Errorf fails with a searched message.
func (g *Guarded) Errorf(format string, args ...any) {
	g.TB.Helper()
	g.TB.Error(g.clean(fmt.Sprintf(format, args...)))
}

// Error fails with a searched message.
func (g *Guarded) Error(args ...any) { g.TB.Helper(); g.TB.Error(g.clean(fmt.Sprint(args...))) }

// Fatalf stops with a searched message.
func (g *Guarded) Fatalf(format string, args ...any) {
	g.TB.Helper()
	g.TB.Fatal(g.clean(fmt.Sprintf(format, args...)))
}

// Fatal stops with a searched message.
func (g *Guarded) Fatal(args ...any) { g.TB.Helper(); g.TB.Fatal(g.clean(fmt.Sprint(args...))) }

// ProcWatch samples the command line and environment of every process on
// this machine while a workflow runs: stowage runs no program itself, but
// libvirtd runs qemu-img and QEMU for it, and a secret in their argv or
// environment would be readable by any local user (ps, /proc).
type ProcWatch struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	// seen maps each distinct cmdline or environ (NUL-separated, as read)
	// to where it was read.
	seen map[string]string
}

// WatchProcesses starts sampling every interval (a qemu-img writing a
// LUKS header runs for seconds, so a few milliseconds catch it).
func WatchProcesses(interval time.Duration) *ProcWatch {
	w := &ProcWatch{stop: make(chan struct{}), done: make(chan struct{}), seen: map[string]string{}}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			w.sample()
			select {
			case <-w.stop:
				w.sample()
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func (w *ProcWatch) sample() {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range ents {
		pid := e.Name()
		if pid[0] < '0' || pid[0] > '9' {
			continue
		}
		for _, f := range []string{"cmdline", "environ"} {
			b, err := os.ReadFile(filepath.Join("/proc", pid, f))
			if err != nil || len(b) == 0 {
				continue
			}
			w.mu.Lock()
			if _, ok := w.seen[string(b)]; !ok {
				w.seen[string(b)] = "/proc/" + pid + "/" + f
			}
			w.mu.Unlock()
		}
	}
}

// Stop ends sampling (after one last sample).
func (w *ProcWatch) Stop() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// Saw reports whether some sampled command line contained every one of
// the substrings (how a test proves the watch caught the child that
// mattered, e.g. "qemu-img" and "luks").
func (w *ProcWatch) Saw(subs ...string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for s, where := range w.seen {
		if !strings.HasSuffix(where, "/cmdline") {
			continue
		}
		all := true
		for _, sub := range subs {
			all = all && strings.Contains(s, sub)
		}
		if all {
			return true
		}
	}
	return false
}

// AssertAbsent fails t when any sampled command line or environment held
// a form of the secret; it names the process file, never the bytes.
func (w *ProcWatch) AssertAbsent(t testing.TB, s *Secret) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.seen) == 0 {
		t.Errorf("process watch read nothing from /proc: the check proves nothing")
	}
	for b, where := range w.seen {
		if what, _, ok := s.Find([]byte(b)); ok {
			t.Errorf("LEAK: the %s of %s appears in %s (a process's argv or environment)", what, s, where)
		}
	}
}
