package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/lab"
)

type tapRand struct{ got []byte }

func (r *tapRand) Read(p []byte) (int, error) {
	n, err := rand.Read(p)
	r.got = append(r.got, p[:n]...)
	return n, err
}

func TestDriveCLIUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"drive", "--help"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "--hotplug-fallback") {
		t.Errorf("drive --help: %d\n%s", code, errb.String())
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	for args, msg := range map[string]string{
		"drive create --uri test:///default --pool default --name x --size 10X":                   "unknown unit",
		"drive create --uri test:///default --pool default --name x --size -1G":                   "negative",
		"drive create --uri test:///default --pool default --name x --size 0":                     "zero",
		"drive create --uri test:///default --pool default --name x --size 99999999999999999999E": "overflows",
		"drive delete --uri test:///default --pool default --name x --confirm y":                  "--confirm x",
		"drive frobnicate --uri test:///default":                                                  "unknown verb",
	} {
		out.Reset()
		errb.Reset()
		if code := run(strings.Fields(args), &out, &errb); code == 0 || !strings.Contains(errb.String(), msg) {
			t.Errorf("%s: exit %d, stderr %q; want an error containing %q", args, code, errb.String(), msg)
		}
	}
}

// A whole create, attach, detach and delete through the CLI: the
// passphrase (known through the tapped random source) appears in none of
// stdout, stderr, the audit log or stowage's log, in any common encoding.
func TestLabDriveCLINoPassphraseLeak(t *testing.T) {
	env := lab.Need(t)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	name := fmt.Sprintf("t-drives-cli-%d", time.Now().UnixNano())
	t.Cleanup(func() {
		_ = exec.Command("virsh", "detach-disk", env.VM, "vdz", "--config").Run()
		_ = exec.Command("virsh", "vol-delete", "--pool", env.DirPool, name).Run()
	})
	var stdout, stderr bytes.Buffer
	tap := &tapRand{}
	code := runDriveWith([]string{"create", "--uri", env.URI, "--pool", env.DirPool, "--name", name, "--size", "16M",
		"--encryption", "luks", "--attach", env.VM, "--persistent", "--json"}, &stdout, &stderr, tap)
	if code != 0 {
		t.Fatalf("create: exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), `"secret_uuid":"`) || !strings.Contains(stderr.String(), "✓ verify") {
		t.Errorf("stdout %q / stderr %q: want the result on stdout and progress on stderr", stdout.String(), stderr.String())
	}
	var target string
	if i := strings.Index(stdout.String(), `"target":"`); i >= 0 {
		target = strings.SplitN(stdout.String()[i+10:], `"`, 2)[0]
	}
	for _, args := range [][]string{
		{"detach", "--uri", env.URI, "--vm", env.VM, "--target", target, "--persistent"},
		{"delete", "--uri", env.URI, "--pool", env.DirPool, "--name", name, "--confirm", name},
	} {
		if code := runDriveWith(args, &stdout, &stderr, tap); code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr.String())
		}
	}
	if len(tap.got) != 32 {
		t.Fatalf("%d random bytes drawn, want 32", len(tap.got))
	}
	raw := tap.got
	needles := map[string][]byte{
		"passphrase":     []byte(base64.RawURLEncoding.EncodeToString(raw)),
		"std base64":     []byte(base64.StdEncoding.EncodeToString(raw)),
		"hex":            []byte(hex.EncodeToString(raw)),
		"raw bytes":      raw,
		"passphrase b64": []byte(base64.StdEncoding.EncodeToString([]byte(base64.RawURLEncoding.EncodeToString(raw)))),
	}
	audit, err := os.ReadFile(filepath.Join(state, "stowage", "audit.jsonl"))
	if err != nil || bytes.Count(audit, []byte("\n")) < 5 {
		t.Fatalf("audit log: %v\n%s", err, audit)
	}
	logb, err := os.ReadFile(filepath.Join(state, "stowage", "stowage.log"))
	if err != nil || len(logb) == 0 {
		t.Fatalf("stowage.log: %v (empty: the grep would prove nothing)", err)
	}
	for where, hay := range map[string][]byte{"stdout": stdout.Bytes(), "stderr": stderr.Bytes(), "audit log": audit, "stowage.log": logb} {
		for what, n := range needles {
			if bytes.Contains(hay, n) {
				t.Errorf("the %s of the passphrase appears in %s", what, where)
			}
		}
	}
	// Nothing of it in libvirt either: the secret is gone with the drive.
	if out, _ := exec.Command("virsh", "secret-list").Output(); bytes.Contains(out, []byte(name)) {
		t.Errorf("secret for %s left: %s", name, out)
	}
}
