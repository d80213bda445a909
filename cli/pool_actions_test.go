package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"stowage/plan"
)

// Bad usage exits 2 and says what is wrong; --readonly refuses before
// connecting (the URI names no daemon), exit 1, and the refusal is
// audited with the pool named.
func TestPoolActionUsageAndReadOnly(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"pool", "start"}, "--name is required"},
		{[]string{"pool", "stop", "--name", "p", "extra"}, `unexpected argument "extra"`},
		{[]string{"pool", "start", "--name", "p", "--off"}, "flag provided but not defined: -off"},
		{[]string{"pool", "refresh", "--name", "p", "--overwrite"}, "flag provided but not defined: -overwrite"},
		{[]string{"pool", "start", "--name", "p", "--timeout", "-1s"}, "--timeout -1s: give a positive duration"},
		{[]string{"pool", "explode"}, `unknown verb "explode"`},
	} {
		var o, e bytes.Buffer
		if rc := Run(c.args, &o, &e); rc != 2 || !strings.Contains(e.String(), c.want) {
			t.Errorf("%v: rc %d, stderr %q; want 2 and %q", c.args, rc, e.String(), c.want)
		}
	}
	var o, e bytes.Buffer
	rc := Run([]string{"pool", "delete", "--uri", "qemu:///system?socket=/nonexistent", "--name", "p", "--confirm", "p", "--readonly", "--json"}, &o, &e)
	var out poolOutcome
	if err := json.Unmarshal(o.Bytes(), &out); err != nil || rc != 1 || !out.Refused || !strings.Contains(out.Error, "--readonly") {
		t.Fatalf("--readonly: rc %d, %+v (%v)\n%s", rc, out, err, e.String())
	}
	recs := auditTail(t)
	if len(recs) != 1 || recs[0].Result != plan.ResultRefused || recs[0].Action != "pool delete" || recs[0].Object != "pool p" {
		t.Fatalf("audit %+v", recs)
	}
}
