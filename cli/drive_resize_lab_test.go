package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/lab"
)

// `stowage drive resize` on the lab's dir pool: --json grows a plain
// drive (one JSON object, progress on stderr); --readonly, a shrink
// without --confirm and bad flags are refused with the right exit code,
// audited, and change nothing.
func TestLabDriveResizeCLI(t *testing.T) {
	env := lab.Need(t)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	name := fmt.Sprintf("t-rs-cli-%d", time.Now().UnixNano())
	base := []string{"--uri", env.URI, "--pool", env.DirPool, "--name", name}
	if r := driveCLI(nil, append([]string{"create"}, append(base, "--size", "32M", "--encryption", "none")...)...); r.rc != 0 {
		t.Fatalf("create: %d %s", r.rc, r.stderr)
	}
	t.Cleanup(func() { _, _ = virsh(t, env.URI, "vol-delete", "--pool", env.DirPool, name) })
	capacity := func() string {
		return colonFields(mustVirsh(t, env.URI, "vol-info", "--pool", env.DirPool, name, "--bytes"))["Capacity"]
	}

	r := driveCLI(nil, append([]string{"resize"}, append(base, "--size", "+16M", "--json")...)...)
	if r.rc != 0 {
		t.Fatalf("resize: %d %s", r.rc, r.stderr)
	}
	var out struct {
		Size uint64 `json:"size"`
		From uint64 `json:"from"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Size != 48<<20 || out.From != 32<<20 {
		t.Errorf("JSON %q (%v): want size %d from %d", r.stdout, err, 48<<20, 32<<20)
	}
	if !strings.Contains(r.stderr, "cannot be undone") || strings.Contains(r.stdout, "…") {
		t.Errorf("progress belongs on stderr and names the step irreversible:\nstdout %s\nstderr %s", r.stdout, r.stderr)
	}
	if got := capacity(); got != fmt.Sprintf("%d bytes", 48<<20) {
		t.Errorf("capacity %q after +16M", got)
	}

	for _, c := range []struct {
		args []string
		rc   int
		want string
	}{
		{[]string{"--size", "64M", "--readonly"}, 1, "--readonly"},
		{[]string{"--size", "16M"}, 1, "--shrink --confirm " + name},
		{[]string{"--size", "16M", "--shrink", "--confirm", "other"}, 1, "is not the drive's name"},
		{[]string{"--size", "-16M"}, 2, "only grows"},
		{[]string{"--size", "ten"}, 2, "does not start with a number"},
		{[]string{"--size", "64M", "--confirm", name}, 2, "--confirm is for a shrink"},
	} {
		r := driveCLI(nil, append([]string{"resize"}, append(base, c.args...)...)...)
		if r.rc != c.rc || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: rc %d, stderr %q; want %d and %q", c.args, r.rc, r.stderr, c.rc, c.want)
		}
	}
	if got := capacity(); got != fmt.Sprintf("%d bytes", 48<<20) {
		t.Errorf("capacity %q after the refusals, want unchanged", got)
	}
	audit, err := os.ReadFile(filepath.Join(state, "stowage", "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"result":"refused","duration_ms":0,"error":"--readonly`, "--shrink --confirm " + name} {
		if !strings.Contains(string(audit), want) {
			t.Errorf("audit log lacks %q:\n%s", want, audit)
		}
	}
}
