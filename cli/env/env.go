// Package env is the one environment every stowage command runs in, built
// once per run by Load: the config (flag, then environment, then
// config.yaml, then defaults), the theme with the admin's own themes, the
// keymap with config.yaml's remaps, stowage's log, the audit log and the
// connector that owns every connection a command or screen opens.
//
// The console and every subcommand (drive, iscsi, the wizards run alone,
// inventory) take their hosts, timeout, theme and keys from here, so they
// agree: a wizard run alone works on the configured hosts, in the
// configured theme, exactly as it does inside the console.
//
// env belongs to the binaries' wiring (stowage/cli): it may import themes
// and ui/keys to build what the screens are given, and backends (libvirtx,
// drive, ceph, plan) to reach them. No ui package and no backend imports it.
package env

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"stowage/libvirtx"
	"stowage/plan"
	"stowage/themes"
	"stowage/ui/keys"
)

// DefaultURI is the host when no flag and no config name one.
const DefaultURI = "qemu:///system"

// DefaultTheme is the theme when no flag, STOWAGE_THEME or config names one.
const DefaultTheme = "dark"

// DefaultRefresh is how often the console polls pools and volumes.
const DefaultRefresh = 5 * time.Second

// Flags are what a command's own flags set: the first layer of the
// precedence. A zero field was not given.
type Flags struct {
	URIs     []string
	Theme    string
	Timeout  time.Duration
	Refresh  time.Duration
	ReadOnly bool
	// UI says the command draws (the console, a wizard): the theme and the
	// keymap are built, and a bad one is an error. Headless commands skip
	// them, so a theme typo in config.yaml never fails a script.
	UI bool
}

// Env is the environment of one run. Close it when the run ends.
type Env struct {
	Config Config
	// Dir holds config.yaml and the user themes (themes/NAME.yaml).
	Dir string
	// Hosts are --uri's, else config.yaml's, else DefaultURI.
	Hosts []string
	// Theme names the palette Styles was built from (UI commands only).
	Theme  string
	Styles themes.Styles
	// Keys is the default keymap with config.yaml's remaps (UI only).
	Keys             keys.Map
	Timeout, Refresh time.Duration
	ReadOnly         bool
	Log              *slog.Logger
	Audit            *plan.Audit
	Connector        *Connector[*libvirtx.Conn]
	// SSHConfig is ~/.ssh/config, parsed once for every dial of the run.
	SSHConfig *libvirtx.SSHConfigCache
	logFile   *os.File
}

// Load builds the environment from the command's flags, the process's
// environment and config.yaml.
func Load(f Flags) (*Env, error) { return load(f, os.Getenv) }

func load(f Flags, getenv func(string) string) (*Env, error) {
	dir := ConfigDir(getenv)
	cfg, err := LoadConfig(filepath.Join(dir, "config.yaml"))
	if err != nil {
		return nil, err
	}
	e := &Env{Config: cfg, Dir: dir, ReadOnly: f.ReadOnly}
	e.Hosts = f.URIs
	if len(e.Hosts) == 0 {
		e.Hosts = cfg.URIs()
	}
	if len(e.Hosts) == 0 {
		e.Hosts = []string{DefaultURI}
	}
	e.Timeout = pick(f.Timeout, 0, time.Duration(cfg.Timeout), libvirtx.DefaultTimeout)
	e.Refresh = pick(f.Refresh, 0, time.Duration(cfg.Refresh), DefaultRefresh)
	for _, u := range e.Hosts {
		if _, err := libvirtx.ParseURI(u, e.ReadOnly); err != nil {
			if len(f.URIs) > 0 {
				return nil, fmt.Errorf("--uri: %w", err)
			}
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	if f.UI {
		e.Theme = pick(f.Theme, "", getenv("STOWAGE_THEME"), cfg.Theme, DefaultTheme)
		pal, err := themes.Load(e.Theme, filepath.Join(dir, "themes"))
		if err != nil {
			return nil, fmt.Errorf("--theme: %w", err)
		}
		e.Styles = themes.Build(pal, getenv("NO_COLOR") != "")
		e.Keys = keys.Default()
		if err := e.Keys.Remap(cfg.Keys); err != nil {
			// Remap's error starts with "keys:" and names the actions.
			return nil, fmt.Errorf("config %s: %w", filepath.Join(dir, "config.yaml"), err)
		}
	}
	e.logFile, e.Log = openLog()
	e.Audit = plan.NewAudit(plan.DefaultAuditPath())
	e.SSHConfig = libvirtx.NewSSHConfigCache()
	e.Connector = NewConnector(e.Dial(e.Timeout))
	return e, nil
}

// pick is the precedence: the first of its layers that is set.
func pick[T comparable](flag, unset T, layers ...T) T {
	if flag != unset {
		return flag
	}
	for _, l := range layers[:len(layers)-1] {
		if l != unset {
			return l
		}
	}
	return layers[len(layers)-1]
}

// Dial returns a dialer of plain connections with the given per-call
// bound (and the environment's read-only choice), for a Connector or one
// of its scopes.
func (e *Env) Dial(timeout time.Duration) func(ctx context.Context, uri string) (*libvirtx.Conn, error) {
	o := libvirtx.Options{Timeout: timeout, ReadOnly: e.ReadOnly, SSHConfig: e.SSHConfig}
	return func(ctx context.Context, uri string) (*libvirtx.Conn, error) { return libvirtx.Dial(ctx, uri, o) }
}

// OwnDial dials a workflow's own connection, which redials when its
// socket is gone (libvirtx.DialOwned); the workflow closes it when done.
func (e *Env) OwnDial(ctx context.Context, uri string) (*libvirtx.Conn, error) {
	return libvirtx.DialOwned(ctx, uri, libvirtx.Options{Timeout: e.Timeout, ReadOnly: e.ReadOnly, SSHConfig: e.SSHConfig})
}

// FirstHost is the host a single-host command works on when --uri names
// none: config.yaml's first host, else DefaultURI.
func (e *Env) FirstHost() string { return e.Hosts[0] }

// Host is the host a single-host command works on: uri when given, else
// FirstHost; checked as a libvirt URI (read-write: the commands that ask
// for one change things).
func (e *Env) Host(uri string) (string, error) {
	if uri == "" {
		uri = e.FirstHost()
	}
	if _, err := libvirtx.ParseURI(uri, false); err != nil {
		return "", fmt.Errorf("--uri: %w", err)
	}
	return uri, nil
}

// Close closes every connection the environment's connector and its
// scopes still hold, and the log.
func (e *Env) Close() {
	if e.Connector != nil {
		_ = e.Connector.Close()
	}
	if e.logFile != nil {
		_ = e.logFile.Close()
	}
}

// openLog opens stowage's own log, $XDG_STATE_HOME/stowage/stowage.log;
// without it, logging is discarded rather than failing the command.
func openLog() (*os.File, *slog.Logger) {
	dir := plan.StateDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, slog.New(slog.DiscardHandler)
	}
	f, err := os.OpenFile(filepath.Join(dir, "stowage.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, slog.New(slog.DiscardHandler)
	}
	return f, slog.New(slog.NewTextHandler(f, nil))
}
