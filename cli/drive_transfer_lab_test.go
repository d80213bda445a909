package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/drive"
	"stowage/lab"
	"stowage/plan"
)

// The headless verbs end to end: upload a random file, download it (the
// same bytes), wipe with zeros (the download reads zeros); progress lines
// on stderr with percent, MiB/s and ETA; one JSON object on stdout; each
// run audited. Bad input and --readonly are refused, audited, and change
// nothing.
func TestLabDriveTransferHeadless(t *testing.T) {
	env := lab.Need(t)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	name := fmt.Sprintf("t-tx-cli-%d", time.Now().UnixNano())
	if out, err := exec.Command("virsh", "-c", env.URI, "vol-create-as", env.DirPool, name, "32M", "--format", "raw").CombinedOutput(); err != nil {
		t.Fatalf("vol-create-as: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("virsh", "-c", env.URI, "vol-delete", "--pool", env.DirPool, name).Run() })
	dir := t.TempDir()
	in := filepath.Join(dir, "in.bin")
	data := make([]byte, 32<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := runDrive(append([]string{args[0], "--uri", env.URI, "--pool", env.DirPool, "--name", name}, args[1:]...), &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, stderr := run("upload", "--file", in, "--confirm", name, "--json")
	if code != 0 {
		t.Fatalf("upload: %d\n%s", code, stderr)
	}
	var res drive.TransferResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Bytes != 32<<20 || res.Action != "upload" {
		t.Fatalf("upload JSON %q: %v", out, err)
	}
	if !strings.Contains(stderr, "100% 32.0 MiB / 32.0 MiB") || !strings.Contains(stderr, "MiB/s") {
		t.Errorf("no progress line with percent and MiB/s on stderr:\n%s", stderr)
	}
	dl := filepath.Join(dir, "out.bin")
	if code, _, stderr := run("download", "--file", dl); code != 0 {
		t.Fatalf("download: %d\n%s", code, stderr)
	}
	if got, _ := os.ReadFile(dl); !bytes.Equal(got, data) {
		t.Fatal("downloaded bytes differ from the uploaded file")
	}
	// Refusals: each with its message, each audited, none changes the
	// drive or the existing file.
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"download", "--file", dl}, 1, "exists: stowage never overwrites a file"},
		{[]string{"wipe", "--confirm", "other"}, 1, "repeat its name with --confirm " + name},
		{[]string{"upload", "--file", in, "--confirm", name, "--readonly"}, 1, "--readonly"},
		{[]string{"wipe", "--algorithm", "shred", "--confirm", name}, 2, "use zero, nnsa"},
		{[]string{"upload", "--confirm", name}, 2, "--file is required"},
	} {
		code, _, stderr := run(c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, %q; want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
	if got, _ := os.ReadFile(dl); !bytes.Equal(got, data) {
		t.Error("a refusal changed the existing file")
	}
	if code, _, stderr := run("wipe", "--confirm", name); code != 0 {
		t.Fatalf("wipe: %d\n%s", code, stderr)
	}
	zeros := filepath.Join(dir, "zeros.bin")
	if code, _, stderr := run("download", "--file", zeros); code != 0 {
		t.Fatalf("download after wipe: %d\n%s", code, stderr)
	}
	if got, _ := os.ReadFile(zeros); len(got) != 32<<20 || !bytes.Equal(got, make([]byte, len(got))) {
		t.Error("after wipe the drive does not read as zeros")
	}
	audit, err := os.ReadFile(filepath.Join(state, "stowage", "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"upload volume ok": false, "download volume ok": false, "wipe volume zero ok": false,
		"download volume refused": false, "wipe volume refused": false, "upload volume refused": false}
	for _, l := range bytes.Split(audit, []byte("\n")) {
		var r plan.Record
		if json.Unmarshal(l, &r) == nil && strings.Contains(r.Object, name) {
			if _, ok := want[r.Action+" "+r.Result]; ok {
				want[r.Action+" "+r.Result] = true
			}
		}
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("audit lacks %q", k)
		}
	}
}
