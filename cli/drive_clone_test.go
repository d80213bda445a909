package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Flags no host could accept are usage errors (exit 2), and --readonly
// refuses (exit 1, with --json one object); every one is audited as
// refused, and none dials the host.
func TestDriveCloneUsageAndReadonly(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	// Nothing listens there: a command that dialed would fail differently.
	uri := "qemu+tcp://127.0.0.1:1/system"
	for _, tc := range []struct {
		args []string
		code int
		why  string
	}{
		{[]string{"--pool", "p", "--to", "n"}, 2, "--pool and --name"},
		{[]string{"--pool", "p", "--name", "a"}, 2, "--to NEW"},
		{[]string{"--pool", "p", "--name", "a", "--to", "a"}, 2, "the source itself"},
		{[]string{"--pool", "p", "--name", "a", "--to", "b", "--rbd-method", "snap"}, 2, "use copy"},
		{[]string{"--pool", "p", "--name", "a", "--to", "b", "--readonly", "--json"}, 1, "--readonly"},
	} {
		var out, errb bytes.Buffer
		code := cmdDriveClone(append([]string{"--uri", uri}, tc.args...), &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.why) {
			t.Errorf("%v: exit %d, stderr %q; want %d saying %q", tc.args, code, errb.String(), tc.code, tc.why)
		}
		if strings.Contains(errb.String(), "127.0.0.1:1") && !strings.Contains(errb.String(), tc.why) {
			t.Errorf("%v: dialed the host", tc.args)
		}
		if tc.args[len(tc.args)-1] == "--json" {
			var res struct{ Error string }
			if err := json.Unmarshal(out.Bytes(), &res); err != nil || !strings.Contains(res.Error, "--readonly") {
				t.Errorf("--json: %q (%v); want one object with the error", out.String(), err)
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(state, "stowage", "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), `"action":"clone drive","object":"p/`); n != 5 || strings.Count(string(b), `"result":"refused"`) != 5 {
		t.Errorf("audit log holds %d clone records, want 5 refusals:\n%s", n, b)
	}
}
