package env

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/libvirtx"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	if c, err := LoadConfig(filepath.Join(dir, "missing.yaml")); err != nil || len(c.Hosts) != 0 {
		t.Errorf("missing config: %+v %v", c, err)
	}
	write := func(s string) string {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := LoadConfig(write("hosts:\n  - name: hv1\n    uri: qemu+ssh://root@hv1/system\ntimeout: 20s\n"))
	if err != nil || len(c.Hosts) != 1 || time.Duration(c.Timeout) != 20*time.Second {
		t.Errorf("good config: %+v %v", c, err)
	}
	for body, msg := range map[string]string{
		"hosts: [{name: x}]\n": "has no uri",
		"timeout: soon\n":      "not a positive duration",
		"colour: red\n":        "field colour not found",
		"hosts: {\n":           "yaml",
	} {
		if _, err := LoadConfig(write(body)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("config %q: %v; want an error containing %q", body, err, msg)
		}
	}
}

// fakeEnv is a process environment with a config directory of its own;
// config is written to its config.yaml when not empty.
func fakeEnv(t *testing.T, config string, vars map[string]string) func(string) string {
	t.Helper()
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	home := t.TempDir()
	if config != "" {
		if err := os.MkdirAll(filepath.Join(home, "stowage", "themes"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, "stowage", "config.yaml"), []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return func(k string) string {
		if k == "XDG_CONFIG_HOME" {
			return home
		}
		return vars[k]
	}
}

// Flag, then environment, then config.yaml, then defaults, for every
// setting, in one environment the console and every subcommand share.
func TestPrecedence(t *testing.T) {
	const cfg = "hosts:\n  - uri: test:///default\ntheme: light\ntimeout: 7s\nrefresh: 9s\n"
	load1 := func(f Flags, config string, vars map[string]string) *Env {
		t.Helper()
		e, err := load(f, fakeEnv(t, config, vars))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Close)
		return e
	}
	e := load1(Flags{UI: true}, cfg, nil)
	if len(e.Hosts) != 1 || e.Hosts[0] != "test:///default" || e.Theme != "light" || e.Timeout != 7*time.Second || e.Refresh != 9*time.Second {
		t.Errorf("config not applied: hosts %v theme %q timeout %s refresh %s", e.Hosts, e.Theme, e.Timeout, e.Refresh)
	}
	e = load1(Flags{UI: true}, cfg, map[string]string{"STOWAGE_THEME": "high-contrast"})
	if e.Theme != "high-contrast" {
		t.Errorf("STOWAGE_THEME must win over the config: %q", e.Theme)
	}
	e = load1(Flags{UI: true, Theme: "dark", URIs: []string{"qemu:///system"}, Timeout: time.Second, Refresh: 2 * time.Second},
		cfg, map[string]string{"STOWAGE_THEME": "high-contrast"})
	if e.Theme != "dark" || e.Hosts[0] != "qemu:///system" || len(e.Hosts) != 1 || e.Timeout != time.Second || e.Refresh != 2*time.Second {
		t.Errorf("flags must win over the environment and the config: %+v", e)
	}
	e = load1(Flags{UI: true}, "", nil)
	if e.Hosts[0] != DefaultURI || e.Theme != DefaultTheme || e.Timeout != libvirtx.DefaultTimeout || e.Refresh != DefaultRefresh {
		t.Errorf("defaults: hosts %v theme %q timeout %s refresh %s", e.Hosts, e.Theme, e.Timeout, e.Refresh)
	}
	if e.FirstHost() != DefaultURI {
		t.Errorf("first host %q", e.FirstHost())
	}
}

// The admin's own theme (themes/NAME.yaml next to config.yaml) is found by
// every command that draws; headless commands never build a theme, so a
// bad one does not fail them.
func TestUserThemeAndHeadless(t *testing.T) {
	getenv := fakeEnv(t, "theme: mine\n", nil)
	if _, err := load(Flags{UI: true}, getenv); err == nil || !strings.Contains(err.Error(), "unknown theme") {
		t.Fatalf("theme mine without its file: %v; want unknown theme", err)
	}
	e, err := load(Flags{}, getenv)
	if err != nil {
		t.Fatalf("a headless command failed on the theme: %v", err)
	}
	e.Close()
	if err := os.WriteFile(filepath.Join(getenv("XDG_CONFIG_HOME"), "stowage", "themes", "mine.yaml"), []byte("accent: \"#8700af\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err = load(Flags{UI: true}, getenv)
	if err != nil {
		t.Fatalf("user theme: %v", err)
	}
	defer e.Close()
	if e.Theme != "mine" {
		t.Errorf("theme %q", e.Theme)
	}
}

// A remap in config.yaml reaches the keymap every screen gets (the
// console's, the wizards' quit binding); a broken one fails the load.
func TestKeysFromConfig(t *testing.T) {
	e, err := load(Flags{UI: true}, fakeEnv(t, "keys:\n  quit: [ctrl+q]\n", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := e.Keys.Quit.Keys(); len(got) != 1 || got[0] != "ctrl+q" {
		t.Errorf("quit keys %v; want [ctrl+q]", got)
	}
	if _, err := load(Flags{UI: true}, fakeEnv(t, "keys:\n  frobnicate: [x]\n", nil)); err == nil {
		t.Error("an unknown action in keys: was accepted")
	}
}

func TestBadHosts(t *testing.T) {
	if _, err := load(Flags{URIs: []string{"nope"}}, fakeEnv(t, "", nil)); err == nil || !strings.Contains(err.Error(), "--uri") {
		t.Errorf("bad --uri: %v", err)
	}
	if _, err := load(Flags{}, fakeEnv(t, "hosts:\n  - uri: nope\n", nil)); err == nil || !strings.Contains(err.Error(), "config") {
		t.Errorf("bad configured host: %v", err)
	}
}
