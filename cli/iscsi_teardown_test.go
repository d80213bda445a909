package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/ui/common"
	"stowage/ui/keys"
)

// Bad flags are usage errors (exit 2) that name what is wrong and what
// would be right; nothing is dialed.
func TestISCSITeardownUsage(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--pool", "p"}, "--uri is required"},
		{[]string{"--uri", "qemu:///system"}, "--pool is required"},
		{[]string{"--uri", "qemu:///system", "--pool", "a/b"}, "--pool:"},
		{[]string{"--uri", "qemu:///system", "--pool", "p", "--iscsi-pool", "a b"}, "--iscsi-pool:"},
		{[]string{"--uri", "qemu:///system", "--pool", "p", "extra"}, `unexpected argument "extra"`},
	} {
		var out, errb bytes.Buffer
		rc := run(append([]string{"iscsi", "teardown"}, tc.args...), &out, &errb)
		if rc != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: rc %d, stderr %q; want 2 and %q", tc.args, rc, errb.String(), tc.want)
		}
	}
}

// --readonly refuses before anything is read, and the refusal is audited.
func TestISCSITeardownReadonlyRefusedAndAudited(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var out, errb bytes.Buffer
	rc := run([]string{"iscsi", "teardown", "--uri", "test:///default", "--pool", "san-lvm", "--confirm", "san-lvm", "--readonly", "--json"}, &out, &errb)
	var res teardownJSON
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, out.String())
	}
	if rc != 1 || res.OK || !res.Refused || !strings.Contains(res.Error, "--readonly") {
		t.Fatalf("--readonly: rc %d, %+v", rc, res)
	}
	b, err := os.ReadFile(filepath.Join(state, "stowage", "audit.jsonl"))
	if err != nil || !strings.Contains(string(b), `"result":"refused"`) || !strings.Contains(string(b), "san-lvm") {
		t.Fatalf("audit log (%v):\n%s", err, b)
	}
}

// The console's teardown key opens only a confirmation (the dangerous key
// rule), and under --readonly it has no action at all.
func TestTeardownISCSIActionWiring(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	e := consoleEnv(t, []string{"test:///default"}, cfgNone, true, nil, 15*time.Second)
	open := teardownISCSIAction(e, e.Connector.Conn)
	if open == nil {
		t.Fatal("no teardown action outside --readonly")
	}
	c := open(common.DriveTarget{HostURI: "test:///default", Pool: "san-lvm"})
	if _, ok := c.(keys.Confirmer); !ok {
		t.Fatalf("the teardown key opens %T, not a confirmation", c)
	}
	e.ReadOnly = true
	if teardownISCSIAction(e, e.Connector.Conn) != nil {
		t.Error("--readonly: the teardown action is set, so its key would show")
	}
}
