package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/lab"
)

// stowage drive clone end to end on the lab's dir pool: --json prints one
// object naming the clone; a second clone to the same name is refused
// (exit 1), says why, and changes nothing.
func TestLabDriveCloneCLI(t *testing.T) {
	env := lab.Need(t)
	stateDir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", stateDir)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	suffix := time.Now().UnixNano()
	src, to := fmt.Sprintf("t-cl-cli-%d", suffix), fmt.Sprintf("t-cl-cli-copy-%d", suffix)
	mustVirsh(t, env.URI, "vol-create-as", env.DirPool, src, "2M", "--format", "raw")
	t.Cleanup(func() {
		_, _ = virsh(t, env.URI, "vol-delete", "--pool", env.DirPool, src)
		_, _ = virsh(t, env.URI, "vol-delete", "--pool", env.DirPool, to)
	})
	args := []string{"clone", "--uri", env.URI, "--pool", env.DirPool, "--name", src, "--to", to, "--json"}
	r := driveCLI(nil, args...)
	if r.rc != 0 {
		t.Fatalf("clone: exit %d\n%s", r.rc, r.stderr)
	}
	res := r.result(t)
	if res.Name != to || res.Pool != env.DirPool || res.Key == "" || res.SecretUUID != "" {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(r.stderr, "✓ verify") {
		t.Errorf("no progress on stderr:\n%s", r.stderr)
	}
	// Only this test's lines: other tests share the lab pool.
	state := func() string {
		var mine []string
		for _, l := range strings.Split(mustVirsh(t, env.URI, "vol-list", "--pool", env.DirPool, "--details")+mustVirsh(t, env.URI, "secret-list"), "\n") {
			if strings.Contains(l, fmt.Sprint(suffix)) {
				mine = append(mine, l)
			}
		}
		return strings.Join(mine, "\n")
	}
	before := state()
	again := driveCLI(nil, args...)
	if again.rc != 1 || !strings.Contains(again.stderr, "already exists") {
		t.Errorf("clone onto an existing name: exit %d\n%s; want 1 and a refusal", again.rc, again.stderr)
	}
	if after := state(); after != before || !strings.Contains(before, to) {
		t.Errorf("the refusal changed the host:\nbefore %s\nafter %s", before, after)
	}
	b, _ := os.ReadFile(filepath.Join(stateDir, "stowage", "audit.jsonl"))
	if !strings.Contains(string(b), `"action":"clone volume"`) || !strings.Contains(string(b), `"result":"refused"`) {
		t.Errorf("audit log lacks the clone or the refusal:\n%s", b)
	}
}
