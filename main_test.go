package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	var errb bytes.Buffer
	o, err := parseFlags([]string{"--uri", "qemu:///system", "--uri", "test:///default", "--timeout", "3s"}, &errb)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.uris) != 2 || o.timeout != 3*time.Second || !o.set["timeout"] {
		t.Errorf("options = %+v", o)
	}
	for args, msg := range map[string]string{
		"--uri nope":            "has no scheme",
		"--timeout -1s":         "positive duration",
		"extra":                 "unexpected argument",
		"--uri qemu://h/system": "qemu+ssh://h/system",
	} {
		if _, err := parseFlags(strings.Fields(args), &errb); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("parseFlags(%q) = %v; want an error containing %q", args, err, msg)
		}
	}
}

func TestConfigPrecedence(t *testing.T) {
	c := config{Hosts: []hostConfig{{URI: "test:///default"}}, Theme: "light", Timeout: duration(7 * time.Second)}
	var errb bytes.Buffer
	o, _ := parseFlags(nil, &errb)
	o = o.withConfig(c)
	if len(o.uris) != 1 || o.uris[0] != "test:///default" || o.theme != "light" || o.timeout != 7*time.Second {
		t.Errorf("config not applied: %+v", o)
	}
	o, _ = parseFlags([]string{"--theme", "dark", "--uri", "qemu:///system"}, &errb)
	o = o.withConfig(c)
	if o.theme != "dark" || o.uris[0] != "qemu:///system" {
		t.Errorf("flags must win over the config: %+v", o)
	}
	o, _ = parseFlags(nil, &errb)
	if o = o.withConfig(config{}); o.uris[0] != "qemu:///system" {
		t.Errorf("default host = %v", o.uris)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	if c, err := loadConfig(filepath.Join(dir, "missing.yaml")); err != nil || len(c.Hosts) != 0 {
		t.Errorf("missing config: %+v %v", c, err)
	}
	write := func(s string) string {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := loadConfig(write("hosts:\n  - name: hv1\n    uri: qemu+ssh://root@hv1/system\ntimeout: 20s\n"))
	if err != nil || len(c.Hosts) != 1 || time.Duration(c.Timeout) != 20*time.Second {
		t.Errorf("good config: %+v %v", c, err)
	}
	for body, msg := range map[string]string{
		"hosts: [{name: x}]\n": "has no uri",
		"timeout: soon\n":      "not a positive duration",
		"colour: red\n":        "field colour not found",
		"hosts: {\n":           "yaml",
	} {
		if _, err := loadConfig(write(body)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("config %q: %v; want an error containing %q", body, err, msg)
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
