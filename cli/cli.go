// Package cli is stowage's commands: the console and the subcommands
// (drive, iscsi, the wizards run alone). Each parses its own flags, builds
// the one environment (cli/env) from them, and runs on it: config, theme
// with the admin's own themes, keymap, logger, audit log and connector are
// the same for all of them.
//
// Decisions:
//   - The wizards run alone (`stowage drive wizard`, `stowage iscsi
//     wizard`) are hosted by ui/standalone, the same Push/Pop/quit
//     contract as the console; without --uri they work on the configured
//     hosts' first (else qemu:///system) and check the other configured
//     hosts as the console checks its hosts.
//   - Every connection belongs to what opened it: a headless command's to
//     the command (closed when it returns), a workflow's to the workflow,
//     the LVM-on-iSCSI wizard's to its screen (closed when the screen
//     closes, see lvmOnISCSIAction), the console's sessions to the console.
//     The environment's Close, at exit, closes whatever is left.
//
// cli draws only through ui packages; package main holds flags and wiring
// only (main → cli.Run).
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	tea "charm.land/bubbletea/v2"

	"stowage/cli/env"
	"stowage/libvirtx"
	"stowage/themes"
)

const usage = `stowage: a terminal console for storage on libvirt/KVM hosts.

Usage:
  stowage [--uri URI]... [--readonly] [--theme NAME]   open the console
  stowage inventory [--uri URI]... [--json] [--ceph]   pools, volumes, VMs, secrets (and Ceph images) as tables or JSON
  stowage pool define|sources --type T …               define a pool of any type, discover its sources (stowage pool --help)
  stowage pool VERB --name N [--uri U] [--json]        start, stop, refresh, autostart, build, delete, undefine a pool
  stowage drive create|attach|detach|delete|wizard      encrypted drives (stowage drive --help)
  stowage drive resize|clone|wipe|upload|download       grow (LUKS-aware, live), copy with its own secret, wipe, stream in/out
  stowage iscsi discover|setup-lvm|teardown|wizard      LVM on iSCSI (stowage iscsi --help)
  stowage doctor [--uri URI]... [VM|POOL|DRIVE] [--json] what is wrong and how to fix it (stowage doctor --help)
  stowage bench encryption --pool POOL [--quick]       what LUKS costs on an rbd or dir pool (stowage bench --help)
  stowage help                                          this text

Console keys: enter/esc drill down and back, d describe, / filter, : palette,
s sort, 1-6 views (6: Ceph), D diagnose (the doctor's findings; f applies a fix), ? help
(keys are remappable in config.yaml, see README).
During a drive workflow ctrl+c cancels and rolls back; a second ctrl+c quits at
once and prints what may be left, with the commands that remove it.
NO_COLOR disables colours; STOWAGE_THEME picks a theme (below --theme, above
config.yaml). With a local libvirtd, stowage runs Go code on half the CPUs to
leave libvirtd the rest; GOMAXPROCS=N overrides that. The console collects
garbage at GOGC=50 (less memory, a little more CPU); GOGC=N overrides that. Every command (console,
inventory, drive, iscsi, the wizards) takes its hosts, timeout, theme and keys
from the same place: flag, then environment, then config.yaml, then defaults.

Hosts:
  --uri URI     a libvirt URI; repeat for several hosts (default: config.yaml's
                hosts, else qemu:///system):
                  qemu:///system                 local libvirtd (unix socket)
                  qemu:///system?socket=PATH     another socket
                  qemu+ssh://USER@HOST/system    SSH: ~/.ssh/config, agent or key files,
                                                 known_hosts checked (?keyfile=, ?known_hosts=)
                  qemu+tls://HOST/system         TLS (?pkipath=DIR with cacert.pem, clientcert.pem,
                                                 clientkey.pem); handshake bounded by --timeout
                  qemu+tcp://HOST/system         plain TCP, where the daemon allows it: browsing only,
                                                 no secret is sent over it unless HOST is loopback
                  test:///ABSOLUTE/PATH.xml      libvirt's test driver (demos)

Options:
`

// Command is a subcommand: it parses its own flags and returns the exit
// status.
type Command func(args []string, stdout, stderr io.Writer) int

// subcommands maps each subcommand's name to its entry point.
func subcommands() map[string]Command {
	return map[string]Command{
		"drive":     runDrive,
		"iscsi":     iscsiCommand,
		"inventory": cmdInventory,
		"doctor":    cmdDoctor,
		"bench":     runBench,
		"pool":      runPool,
	}
}

// Run runs stowage with args (without the program name) and returns the
// exit status.
func Run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "help" {
		args = []string{"--help"}
	}
	if len(args) > 0 {
		if cmd, ok := subcommands()[args[0]]; ok {
			return cmd(args[1:], stdout, stderr)
		}
	}
	return runConsole(args, stderr)
}

type uriList []string

func (u *uriList) String() string     { return strings.Join(*u, ",") }
func (u *uriList) Set(s string) error { *u = append(*u, s); return nil }

// parseFlags reads the console's flags into the environment's first layer;
// a flag not given stays zero, for the environment to fill.
func parseFlags(args []string, stderr io.Writer) (env.Flags, error) {
	f, _, err := parseConsoleFlags(args, stderr)
	return f, err
}

// parseConsoleFlags is parseFlags plus the console's own diagnostics:
// the heap profile's path (--memprofile), which no other command takes.
func parseConsoleFlags(args []string, stderr io.Writer) (env.Flags, string, error) {
	f := env.Flags{UI: true}
	var memprofile string
	fs := flag.NewFlagSet("stowage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var((*uriList)(&f.URIs), "uri", "libvirt URI of a host (repeatable)")
	fs.BoolVar(&f.ReadOnly, "readonly", false, "read-only: use the read-only socket and hide every action that changes anything")
	fs.StringVar(&f.Theme, "theme", "", "colour theme: "+strings.Join(themes.Names(), ", ")+" or your own (default: $STOWAGE_THEME, config.yaml's theme, else "+env.DefaultTheme+")")
	fs.DurationVar(&f.Timeout, "timeout", 0, fmt.Sprintf("bound on each libvirt call, e.g. 10s (default: config.yaml's timeout, else %s)", libvirtx.DefaultTimeout))
	fs.DurationVar(&f.Refresh, "refresh", 0, fmt.Sprintf("how often pools and volumes are polled; VMs refresh on events (default: config.yaml's refresh, else %s)", env.DefaultRefresh))
	fs.StringVar(&memprofile, "memprofile", "", "write a Go heap profile (pprof) to this file when the console quits: where its memory went")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return f, "", err
	}
	if fs.NArg() > 0 {
		return f, "", fmt.Errorf("unexpected argument %q (see stowage --help)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	if given["memprofile"] && memprofile == "" {
		return f, "", errors.New("--memprofile: give the path of the file to write, such as /tmp/stowage.heap")
	}
	if given["timeout"] && f.Timeout <= 0 {
		return f, "", fmt.Errorf("--timeout %s: give a positive duration such as 15s", f.Timeout)
	}
	if given["refresh"] && f.Refresh <= 0 {
		return f, "", fmt.Errorf("--refresh %s: give a positive duration such as 5s", f.Refresh)
	}
	for _, u := range f.URIs {
		if _, err := libvirtx.ParseURI(u, f.ReadOnly); err != nil {
			return f, "", fmt.Errorf("--uri: %w", err)
		}
	}
	return f, memprofile, nil
}

func runConsole(args []string, stderr io.Writer) int {
	f, memprofile, err := parseConsoleFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 2
	}
	e, err := env.Load(f)
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 2
	}
	defer e.Close()
	prof, err := openMemProfile(memprofile)
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 2
	}
	defer prof.write(stderr)
	env.ShareCPUWithLocalDaemon(e.Hosts, e.ReadOnly)
	env.TuneConsoleGC()
	m, closeHosts := newConsole(e)
	defer closeHosts()
	if _, err := tea.NewProgram(m).Run(); err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 1
	}
	if r := m.ExitReport(); r != "" {
		fmt.Fprint(stderr, r)
		return 1
	}
	return 0
}
