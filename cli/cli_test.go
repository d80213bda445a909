package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// run is what package main runs, without the subcommands main adds.
func run(args []string, stdout, stderr *bytes.Buffer) int { return Run(args, stdout, stderr) }

func TestParseFlags(t *testing.T) {
	var errb bytes.Buffer
	f, err := parseFlags([]string{"--uri", "qemu:///system", "--uri", "test:///default", "--timeout", "3s"}, &errb)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.URIs) != 2 || f.Timeout != 3*time.Second || !f.UI {
		t.Errorf("flags = %+v", f)
	}
	// Not given stays zero: the environment fills it (config, defaults).
	if f, _ := parseFlags(nil, &errb); f.Theme != "" || f.Timeout != 0 || f.Refresh != 0 || f.URIs != nil {
		t.Errorf("no flags = %+v; want every field left to the environment", f)
	}
	for args, msg := range map[string]string{
		"--uri nope":            "has no scheme",
		"--timeout -1s":         "positive duration",
		"--refresh 0s":          "positive duration",
		"extra":                 "unexpected argument",
		"--uri qemu://h/system": "qemu+ssh://h/system",
	} {
		if _, err := parseFlags(strings.Fields(args), &errb); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("parseFlags(%q) = %v; want an error containing %q", args, err, msg)
		}
	}
}

func TestRunBadInput(t *testing.T) {
	var out, errb bytes.Buffer
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if rc := run([]string{"--theme", "purple"}, &out, &errb); rc != 2 || !strings.Contains(errb.String(), "unknown theme") {
		t.Errorf("rc=%d stderr=%q", rc, errb.String())
	}
}

// The wizards run alone read the configured theme (and would find the
// admin's own theme file next to config.yaml): a configured theme that
// does not exist fails them before anything is drawn, as it fails the
// console. They used to ignore config.yaml's theme altogether.
func TestWizardsReadTheConfiguredTheme(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("STOWAGE_THEME", "")
	if err := os.MkdirAll(filepath.Join(dir, "stowage"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stowage", "config.yaml"), []byte("theme: mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"drive", "wizard"}, {"iscsi", "wizard"}, {}} {
		var out, errb bytes.Buffer
		if rc := run(args, &out, &errb); rc != 2 || !strings.Contains(errb.String(), `unknown theme "mine"`) {
			t.Errorf("%v: rc %d, stderr %q; want 2 and the configured theme unknown", args, rc, errb.String())
		}
	}
}
