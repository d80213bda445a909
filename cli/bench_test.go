package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stowage/benchenc"
)

func TestParseBenchEncryption(t *testing.T) {
	var errb bytes.Buffer
	f, o, err := parseBenchEncryption([]string{"--pool", "p"}, &errb)
	if err != nil || f.pool != "p" || o != benchenc.FullOptions {
		t.Errorf("defaults: %+v %+v %v", f, o, err)
	}
	_, o, err = parseBenchEncryption([]string{"--pool", "p", "--quick"}, &errb)
	if err != nil || o != benchenc.QuickOptions {
		t.Errorf("--quick: %+v %v", o, err)
	}
	_, o, err = parseBenchEncryption([]string{"--pool", "p", "--quick", "--size", "64M", "--runs", "2"}, &errb)
	if err != nil || o.Size != 64<<20 || o.Runs != 2 || o.RandomOps != benchenc.QuickOptions.RandomOps {
		t.Errorf("--quick with --size and --runs: %+v %v", o, err)
	}
	for args, msg := range map[string]string{
		"":                                   "--pool is required",
		"--pool p --size 1M":                 "at least 16.0 MiB",
		"--pool p --size 1T":                 "at most 64.0 GiB",
		"--pool p --size 20.5M":              "whole number of MiB",
		"--pool p --runs 0":                  "from 1 to 100",
		"--pool p --timeout 0s":              "positive duration",
		"--pool p extra":                     "unexpected argument",
		"--pool p --uri qemu+ssh://h/system": "not this machine's libvirtd",
		"--pool p --uri nope":                "--uri",
	} {
		if _, _, err := parseBenchEncryption(strings.Fields(args), &errb); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want an error containing %q", args, err, msg)
		}
	}
}

func TestBenchUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := Run([]string{"bench", "--help"}, &out, &errb); rc != 0 || !strings.Contains(errb.String(), "stowage bench encryption [--uri URI] --pool POOL") || !strings.Contains(errb.String(), "-quick") {
		t.Errorf("bench --help: rc %d\n%s", rc, errb.String())
	}
	errb.Reset()
	if rc := Run([]string{"bench", "speed"}, &out, &errb); rc != 2 || !strings.Contains(errb.String(), "stowage bench encryption") {
		t.Errorf("unknown benchmark: rc %d %s", rc, errb.String())
	}
}

// --readonly refuses before anything is dialed, and the refusal is in the
// audit log.
func TestBenchReadonlyRefusedAndAudited(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var out, errb bytes.Buffer
	f := benchFlags{pool: "somepool", readonly: true}
	if rc := benchEncryption(context.Background(), f, benchenc.QuickOptions, &out, &errb, nil); rc != 2 {
		t.Fatalf("rc = %d, want 2: %s", rc, errb.String())
	}
	if !strings.Contains(errb.String(), "--readonly refuses the benchmark") {
		t.Errorf("message: %s", errb.String())
	}
	b, err := os.ReadFile(filepath.Join(state, "stowage", "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"action":"bench encryption","object":"pool somepool","result":"refused"`) {
		t.Errorf("audit log: %s", b)
	}
}

// stowage --help lists every subcommand, bench with the others.
func TestUsageListsEverySubcommand(t *testing.T) {
	for name := range subcommands() {
		if !strings.Contains(usage, "\n  stowage "+name+" ") {
			t.Errorf("stowage --help does not list %q:\n%s", name, usage)
		}
	}
}
