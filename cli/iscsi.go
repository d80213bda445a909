package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"

	"stowage/cli/env"
	"stowage/iscsi"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
)

const iscsiUsage = `stowage iscsi: iSCSI discovery and LVM on iSCSI, headless.

  stowage iscsi discover --uri URI --portal HOST[:PORT] [--json]
  stowage iscsi setup-lvm --uri URI --portal HOST[:PORT] --target IQN --luns 1,2
        --vg NAME --pool NAME [--iscsi-pool NAME] [--chap-user USER
        [--chap-secret-file FILE]] [--confirm-overwrite TOKEN]
        [--check-host URI]... [--json]
  stowage iscsi teardown --uri URI --pool LOGICAL [--iscsi-pool NAME]
        [--dry-run] [--confirm LOGICAL] [--check-host URI]... [--json]
  stowage iscsi wizard [--uri URI] [--portal HOST[:PORT]] [--theme T]
        the console wizard alone; without --uri on config.yaml's first host
        (else qemu:///system), checking the other configured hosts' VMs

Discovery and logins run on the host named by --uri (the hypervisor), not
here. setup-lvm checks every name first, then (phase 1) defines and starts
an iscsi pool for the target (reusing one that exists), then (phase 2)
probes the chosen LUNs and builds a volume group on them with a logical
pool over it. A failure while phase 2 changes the host rolls back both
phases: each undo removes only the pool or secret whose UUID this run
recorded, never one that existed before or that another admin put in its
place. A refusal in phase 2 changes nothing and leaves phase 1 in place
(the message says so and how to remove it).

Overwriting: phase 2 reads the first 128 KiB of each chosen LUN (file
systems, LUKS, swap, partition tables, LVM and unrecognised data) and asks
libvirt which VG each LUN belongs to. When something is found, the run
prints it with a token such as wipe-1a2b3c4d and refuses; rerun with
--confirm-overwrite TOKEN to destroy exactly that. The token is a hash of
the target, the chosen LUNs and what was found on them, checked against
this run's own probe and again right before the build: it cannot be given
in advance, does not carry over to other LUNs or changed data, and a token
given when nothing was found is refused. A LUN of a libvirt pool, or one
that a VM on the host (or on a --check-host) uses as a disk, is refused.

Teardown undoes a setup: it finds the pair (the iscsi pool whose LUNs are
the VG's PVs; --pool may also name that iscsi pool) and prints what goes,
each with its virsh or LVM command: every LV (drive) in the VG with its
size, the VG, the PV signature on each LUN, the logical pool, the iscsi
pool (its session is logged out) and stowage's CHAP secret for it (kept
when another pool names it). --dry-run, or no --confirm, prints that and
changes nothing (exit 0 with --dry-run, 1 without --confirm); --confirm
with the logical pool's name runs it. It refuses (audited, nothing
changed) while a VM on the host or on a --check-host has a disk in either
pool, running or not; when the pools are not such a pair; when the
logical pool is stopped (its drives could not be listed); and under
--readonly. Every LV is destroyed, whoever made it: the preview lists
them all and the confirmation is typed. The run acts only on the UUIDs
the preview read: a logical pool replaced since, or drives added to the
VG since, refuse the run; an iscsi pool replaced since is left alone and
the result says so. A failure stops the run and names what is left with
the commands that remove it. Progress goes to stderr.

Every change and refusal is appended to the audit log
($XDG_STATE_HOME/stowage/audit.jsonl) with the local user. The CHAP
secret is read from a file (mode 0600) or prompted for without echo,
never from argv.
`

func iscsiCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprint(stderr, iscsiUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch args[0] {
	case "discover":
		return iscsiDiscover(args[1:], stdout, stderr)
	case "setup-lvm":
		return iscsiSetupLVM(args[1:], stdout, stderr)
	case "wizard":
		return iscsiWizard(args[1:], stdout, stderr)
	case "teardown":
		return iscsiTeardown(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "stowage iscsi: unknown command %q\n\n%s", args[0], iscsiUsage)
	return 2
}

// iscsiCommon are the flags both commands share.
type iscsiCommon struct {
	uri, portal string
	json        bool
	timeout     time.Duration
}

func (c *iscsiCommon) register(fs *flag.FlagSet) {
	fs.StringVar(&c.uri, "uri", "", "libvirt URI of the hypervisor (required)")
	fs.StringVar(&c.portal, "portal", "", "iSCSI portal: host, host:port or [v6addr]:port (port 3260 by default)")
	fs.BoolVar(&c.json, "json", false, "print JSON")
	// iSCSI logins retry for up to 2 minutes in open-iscsi's defaults.
	fs.DurationVar(&c.timeout, "timeout", 3*time.Minute, "bound on each libvirt call (a login or a build can take long)")
}

// dial opens the environment and the connection to --uri, both closed by
// e.Close when the command returns.
func (c *iscsiCommon) dial(ctx context.Context) (*env.Env, *libvirtx.Conn, iscsi.Portal, error) {
	if c.uri == "" {
		return nil, nil, iscsi.Portal{}, errors.New("--uri is required")
	}
	p, err := iscsi.ParsePortal(c.portal)
	if err != nil {
		return nil, nil, p, fmt.Errorf("--portal: %w", err)
	}
	e, err := env.Load(env.Flags{URIs: []string{c.uri}, Timeout: c.timeout})
	if err != nil {
		return nil, nil, p, err
	}
	conn, err := e.Connector.Conn(ctx, c.uri)
	if err != nil {
		e.Close()
		return nil, nil, p, err
	}
	return e, conn, p, nil
}

func iscsiDiscover(args []string, stdout, stderr io.Writer) int {
	var c iscsiCommon
	fs := flag.NewFlagSet("stowage iscsi discover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx := context.Background()
	e, conn, p, err := c.dial(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "stowage iscsi discover:", err)
		return 1
	}
	defer e.Close()
	ts, err := iscsi.Discover(ctx, conn, p)
	if err != nil {
		fmt.Fprintln(stderr, "stowage iscsi discover:", err)
		return 1
	}
	if c.json {
		if ts == nil {
			ts = []model.ISCSITarget{}
		}
		return printJSON(stdout, stderr, map[string]any{"portal": p.String(), "targets": ts})
	}
	if len(ts) == 0 {
		fmt.Fprintf(stdout, "no targets at %s\n", p)
	}
	for _, t := range ts {
		fmt.Fprintf(stdout, "%s\t%s\n", t.Portal, t.IQN)
	}
	return 0
}

func iscsiSetupLVM(args []string, stdout, stderr io.Writer) int {
	var c iscsiCommon
	var req iscsi.Request
	var luns, chapUser, chapFile string
	fs := flag.NewFlagSet("stowage iscsi setup-lvm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.register(fs)
	fs.StringVar(&req.Target, "target", "", "target IQN (from discover)")
	fs.StringVar(&luns, "luns", "", "LUN numbers for the volume group, e.g. 1,2")
	fs.StringVar(&req.VG, "vg", "", "name of the new volume group")
	fs.StringVar(&req.Pool, "pool", "", "name of the new logical pool")
	fs.StringVar(&req.ISCSIPool, "iscsi-pool", "", "name of the iscsi pool (default POOL-luns; an existing pool for the target is reused)")
	fs.StringVar(&chapUser, "chap-user", "", "CHAP user, when the target requires CHAP")
	fs.StringVar(&chapFile, "chap-secret-file", "", "file holding the CHAP secret (mode 0600); without it, a prompt asks")
	fs.StringVar(&req.ConfirmOverwrite, "confirm-overwrite", "", "the token a previous run printed for what it found on the chosen LUNs (wipe-…), to destroy exactly that")
	var checkHosts multiFlag
	fs.Var(&checkHosts, "check-host", "another hypervisor whose VMs must not use the chosen LUNs (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "stowage iscsi setup-lvm:", err)
		return 1
	}
	var err error
	if req.LUNs, err = parseLUNs(luns); err != nil {
		return fail(err)
	}
	if chapUser != "" {
		secret, err := readCHAPSecret(chapFile, chapUser, stderr)
		if err != nil {
			return fail(err)
		}
		req.CHAP = &iscsi.CHAP{User: chapUser, Secret: secret}
	} else if chapFile != "" {
		return fail(errors.New("--chap-secret-file needs --chap-user"))
	}
	ctx := context.Background()
	e, conn, p, err := c.dial(ctx)
	if err != nil {
		return fail(err)
	}
	defer e.Close()
	req.Portal = p
	var others []iscsi.OtherHost
	for _, uri := range checkHosts {
		o, err := e.Connector.Conn(ctx, uri)
		if err != nil {
			return fail(fmt.Errorf("--check-host %s: %w", uri, err))
		}
		others = append(others, iscsi.OtherHost{URI: uri, Host: o})
	}
	progress := func(st iscsi.Step) {
		if c.json || st.Status == iscsi.StepRunning {
			return
		}
		fmt.Fprintln(stderr, st.Line())
	}
	s := iscsi.NewSetup(conn, req, progress)
	s.Runner = plan.Runner{Host: c.uri, Audit: e.Audit}
	s.Others = others
	runErr := s.Run(ctx)
	if c.json {
		out := map[string]any{"ok": runErr == nil, "steps": s.Steps(), "iscsi_pool": s.ISCSIPool(),
			"pool": req.Pool, "vg": req.VG, "luns": s.LUNs(), "refused": errors.Is(runErr, iscsi.ErrRefused)}
		if f := s.Findings(); f != nil {
			out["findings"] = f
			out["overwrite_token"] = f.Token()
		}
		if runErr != nil {
			out["error"] = runErr.Error()
		}
		if rc := printJSON(stdout, stderr, out); rc != 0 {
			return rc
		}
		if runErr != nil {
			return 1
		}
		return 0
	}
	if runErr != nil {
		return fail(runErr)
	}
	fmt.Fprintf(stdout, "logical pool %s (VG %s on LUN %s of %s) is active and autostarts; it can create drives\n",
		req.Pool, req.VG, iscsi.LUNsSummary(req.LUNs), req.Target)
	return 0
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func parseLUNs(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("--luns is required (e.g. --luns 1,2)")
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || n > 16383 {
			return nil, fmt.Errorf("--luns: %q is not a LUN number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// readCHAPSecret reads the secret from the file, or prompts on the
// terminal without echo. Never from argv or the environment.
func readCHAPSecret(file, user string, stderr io.Writer) (iscsi.Secret, error) {
	if file != "" {
		return iscsi.ReadSecretFile(file)
	}
	fd := os.Stdin.Fd()
	if !term.IsTerminal(fd) {
		return nil, errors.New("CHAP secret: stdin is not a terminal; give --chap-secret-file")
	}
	fmt.Fprintf(stderr, "CHAP secret for %s: ", user)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return nil, fmt.Errorf("read CHAP secret: %w", err)
	}
	if len(b) == 0 {
		return nil, errors.New("CHAP secret is empty")
	}
	return iscsi.Secret(b), nil
}

func printJSON(stdout, stderr io.Writer, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 1
	}
	return 0
}
