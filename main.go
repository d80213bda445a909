// Command stowage is a terminal console for storage administration of
// libvirt/KVM hosts. main.go holds flags, config and wiring; nothing else.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"stowage/libvirtx"
	"stowage/themes"
)

const usage = `stowage: a terminal console for storage on libvirt/KVM hosts.

Usage:
  stowage [--uri URI]... [--readonly] [--theme NAME]   open the console
  stowage inventory [--uri URI]... [--json]            pools, volumes, VMs, secrets as tables or JSON
  stowage drive create|attach|detach|delete|wizard      encrypted drives (stowage drive --help)
  stowage iscsi discover|setup-lvm|wizard               LVM on iSCSI (stowage iscsi --help)
  stowage help                                          this text

Console keys: enter/esc drill down and back, d describe, / filter, : palette,
s sort, 1-5 views, ? help (keys are remappable in config.yaml, see README).
During a drive workflow ctrl+c cancels and rolls back; a second ctrl+c quits at
once and prints what may be left, with the commands that remove it.
NO_COLOR disables colours. With a local libvirtd, stowage runs Go code on half
the CPUs to leave libvirtd the rest; GOMAXPROCS=N overrides that.

Hosts:
  --uri URI     a libvirt URI; repeat for several hosts (default qemu:///system):
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

type options struct {
	uris     []string
	readonly bool
	theme    string
	timeout  time.Duration
	refresh  time.Duration
	// set names the flags given on the command line.
	set map[string]bool
}

type uriList []string

func (u *uriList) String() string     { return strings.Join(*u, ",") }
func (u *uriList) Set(s string) error { *u = append(*u, s); return nil }

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("stowage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var((*uriList)(&o.uris), "uri", "libvirt URI of a host (repeatable)")
	fs.BoolVar(&o.readonly, "readonly", false, "read-only: use the read-only socket and hide every action that changes anything")
	fs.StringVar(&o.theme, "theme", "dark", "colour theme: "+strings.Join(themes.Names(), ", "))
	fs.DurationVar(&o.timeout, "timeout", libvirtx.DefaultTimeout, "bound on each libvirt call (e.g. 10s)")
	fs.DurationVar(&o.refresh, "refresh", 5*time.Second, "how often pools and volumes are polled (VMs refresh on events)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (see stowage --help)", fs.Arg(0))
	}
	if o.timeout <= 0 {
		return o, fmt.Errorf("--timeout %s: give a positive duration such as 15s", o.timeout)
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	for _, u := range o.uris {
		if _, err := libvirtx.ParseURI(u, o.readonly); err != nil {
			return o, fmt.Errorf("--uri: %w", err)
		}
	}
	return o, nil
}

// withConfig fills what no flag set from the config file, then defaults.
func (o options) withConfig(c config) options {
	if len(o.uris) == 0 {
		for _, h := range c.Hosts {
			o.uris = append(o.uris, h.URI)
		}
	}
	if len(o.uris) == 0 {
		o.uris = []string{"qemu:///system"}
	}
	if !o.set["theme"] && c.Theme != "" {
		o.theme = c.Theme
	}
	if !o.set["timeout"] && c.Timeout > 0 {
		o.timeout = time.Duration(c.Timeout)
	}
	if !o.set["refresh"] && c.Refresh > 0 {
		o.refresh = time.Duration(c.Refresh)
	}
	return o
}

// command is a subcommand: it parses its own flags and returns the exit
// status.
type command func(args []string, stdout, stderr io.Writer) int

// subcommands maps each subcommand's name to its entry point; each lives in
// a cmd_NAME.go file of its own.
func subcommands() map[string]command {
	return map[string]command{
		"inventory": cmdInventory,
		"drive":     runDrive,
		"iscsi":     iscsiCommand,
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "help" {
		args = []string{"--help"}
	}
	if len(args) > 0 {
		if cmd, ok := subcommands()[args[0]]; ok {
			return cmd(args[1:], stdout, stderr)
		}
	}
	cfg, err := loadConfig(configPath())
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 2
	}
	o, err := parseFlags(args, stderr)
	if err == flag.ErrHelp {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 2
	}
	o = o.withConfig(cfg)
	pal, err := themes.Load(o.theme, filepath.Join(filepath.Dir(configPath()), "themes"))
	if err != nil {
		fmt.Fprintln(stderr, "stowage: --theme:", err)
		return 2
	}
	for _, u := range o.uris {
		if _, err := libvirtx.ParseURI(u, o.readonly); err != nil {
			fmt.Fprintln(stderr, "stowage: config:", err)
			return 2
		}
	}
	shareCPUWithLocalDaemon(o.uris, o.readonly)
	logf, log := openLog()
	if logf != nil {
		defer logf.Close()
	}
	m, closeHosts, err := newConsole(o, cfg, themes.Build(pal, os.Getenv("NO_COLOR") != ""), log)
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 2
	}
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
