package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"stowage/cli/env"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
	"stowage/pool"
)

const poolActionUsage = `stowage pool %[1]s: %[2]s

Usage:
  stowage pool %[1]s --uri U --name N %[3]s[--json] [--timeout D] [--readonly]

%[4]s

The action acts only on the pool (by UUID) read when it starts: a pool
another admin undefined or replaced meanwhile is left alone. Progress goes
to stderr, the result to stdout (--json: one object with host, pool, uuid,
action, changed, notes, and error/refused on failure). Every change and
every refusal is appended to $XDG_STATE_HOME/stowage/audit.jsonl.
Exit status: 0 done (or nothing to do), 1 refused or failed, 2 bad usage.

Flags:
`

// poolActionHelp is each verb's one-line summary, extra flags and rules.
var poolActionHelp = map[pool.Action][3]string{
	pool.Start: {"start a pool (virsh pool-start).", "",
		"A running pool is left as it is: \"already running\", exit 0."},
	pool.Stop: {"stop a pool (virsh pool-destroy); no data is deleted.", "--confirm N ",
		"Refused while a running VM (on this host or, for shared storage, on any\nhost in config.yaml) has a disk in the pool; VMs that use it only from\ntheir next start (shut off) are listed as a warning. A stopped pool: \"already stopped\", exit 0.\nDangerous: --confirm repeats the pool's name (without it, the plan is\nshown and nothing is done)."},
	pool.Refresh: {"rescan a running pool's volumes (virsh pool-refresh).", "",
		"A stopped pool is refused: start it first."},
	pool.Autostart: {"start the pool when libvirtd starts (virsh pool-autostart).", "[--off] ",
		"--off clears it. Already in that state: nothing to do, exit 0."},
	pool.Build: {"build a stopped pool (virsh pool-build): a dir pool's directory,\na logical pool's pvcreate and vgcreate, a disk pool's label.", "[--overwrite --confirm N] ",
		"Without --overwrite libvirt refuses devices that carry a signature; with\nit, what they hold is lost (dangerous: --confirm repeats the pool's name).\nrbd and iSCSI pools have nothing to build: refused with why."},
	pool.Delete: {"delete a pool's storage with libvirt's own pool-delete (a dir pool's\nrmdir, a logical pool's vgremove and pvremove); the definition stays.", "--confirm N ",
		"Refused while any VM uses the pool, and while the pool holds volumes\n(delete the drives first: libvirt's logical delete runs vgremove -f). A\nrunning pool is stopped first; a stopped one is started to look inside,\nthen stopped. rbd: libvirt cannot delete a Ceph pool; undefine instead.\nDangerous: --confirm repeats the pool's name."},
	pool.Undefine: {"remove a pool's definition (virsh pool-undefine); its storage stays.", "--confirm N ",
		"Refused while any VM uses the pool. A running pool is stopped first, in\nthe same plan. Dangerous: --confirm repeats the pool's name."},
}

type poolFlags struct {
	uri, name, confirm     string
	off, overwrite, asJSON bool
	readonly               bool
	timeout                time.Duration
}

// poolAction is `stowage pool VERB`: one pool action, headlessly.
func poolAction(verb string) Command {
	return func(args []string, stdout, stderr io.Writer) int {
		a, err := pool.ParseAction(verb)
		if err != nil {
			fmt.Fprintln(stderr, "stowage pool:", err)
			return 2
		}
		return runPoolAction(a, args, stdout, stderr)
	}
}

func poolActionFlags(a pool.Action, f *poolFlags, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("stowage pool "+string(a), flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.uri, "uri", "", "libvirt URI of the host (default: config.yaml's first host, else "+env.DefaultURI+")")
	fs.StringVar(&f.name, "name", "", "the pool's name")
	if a == pool.Autostart {
		fs.BoolVar(&f.off, "off", false, "clear autostart instead of setting it")
	}
	if a == pool.Build {
		fs.BoolVar(&f.overwrite, "overwrite", false, "let libvirt wipe what the devices hold (needs --confirm)")
	}
	if a == pool.Stop || a == pool.Delete || a == pool.Undefine || a == pool.Build {
		fs.StringVar(&f.confirm, "confirm", "", "the pool's name again (dangerous actions)")
	}
	fs.BoolVar(&f.asJSON, "json", false, "print the result as one JSON object")
	fs.BoolVar(&f.readonly, "readonly", false, "read-only: the action is refused (and audited)")
	fs.DurationVar(&f.timeout, "timeout", 0, fmt.Sprintf("bound on each libvirt call (default: config.yaml's timeout, else %s; an iSCSI start or a logical build may need minutes)", libvirtx.DefaultTimeout))
	h := poolActionHelp[a]
	fs.Usage = func() { fmt.Fprintf(stderr, poolActionUsage, a, h[0], h[1], h[2]); fs.PrintDefaults() }
	return fs
}

// poolOutcome is the --json result.
type poolOutcome struct {
	pool.Result
	Steps   []model.Step `json:"steps,omitempty"`
	Refused bool         `json:"refused,omitempty"`
	Error   string       `json:"error,omitempty"`
}

func runPoolAction(a pool.Action, args []string, stdout, stderr io.Writer) int {
	var f poolFlags
	fs := poolActionFlags(a, &f, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "stowage pool %s: %s\n", a, fmt.Sprintf(format, args...))
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return usage("unexpected argument %q (flags only: --name N)", fs.Arg(0))
	case f.name == "":
		return usage("--name is required: the pool to %s (stowage inventory lists them)", a)
	case f.timeout < 0:
		return usage("--timeout %s: give a positive duration such as 30s or 3m", f.timeout)
	}
	var uris []string
	if f.uri != "" {
		uris = []string{f.uri}
	}
	e, err := env.Load(env.Flags{URIs: uris, Timeout: f.timeout, ReadOnly: f.readonly})
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 2
	}
	defer e.Close()
	uri := e.FirstHost()
	spec := pool.Spec{Action: a, Pool: f.name, Off: f.off, Overwrite: f.overwrite}
	out := poolOutcome{Result: pool.Result{Host: uri, Pool: f.name, Action: spec.Verb()}}
	fail := func(err error) int {
		out.Error, out.Refused = err.Error(), errors.Is(err, pool.ErrRefused)
		// Names in it come from libvirt: escaped for the terminal.
		fmt.Fprintf(stderr, "stowage pool %s: %s\n", a, model.SafeLines(err.Error()))
		if f.asJSON {
			_ = json.NewEncoder(stdout).Encode(out)
		}
		return 1
	}
	d := pool.Deps{Host: uri, ReadOnly: e.ReadOnly, Audit: e.Audit, Log: e.Log}
	if e.ReadOnly {
		// Refused before any connection: nothing is read either.
		_, err := pool.Prepare(context.Background(), d, spec)
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c, err := e.OwnDial(ctx, uri)
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	d.Libvirt = c
	d.Peers = headlessPeers(ctx, e, uri)
	pr, err := pool.Prepare(ctx, d, spec)
	if err != nil {
		return fail(err)
	}
	out.UUID, out.Steps = pr.Pool.UUID, pr.Steps
	for _, w := range pr.Warnings {
		fmt.Fprintln(stderr, "warning:", model.SafeText(w))
	}
	if spec.Dangerous() && f.confirm == "" && pr.Already == "" {
		fmt.Fprintf(stderr, "pool %s %s (uuid %s) would:\n", spec.Verb(), model.SafeText(pr.Pool.Name), pr.Pool.UUID)
		for _, s := range pr.Steps {
			fmt.Fprintln(stderr, "  -", model.SafeText(s.Title))
		}
	}
	events := make(chan plan.Event, 16)
	printed := make(chan struct{})
	go func() { printEvents(stderr, events); close(printed) }()
	res, err := pool.Run(ctx, d, pr, f.confirm, events)
	close(events)
	<-printed
	out.Result = res
	if err != nil {
		return fail(err)
	}
	if f.asJSON {
		_ = json.NewEncoder(stdout).Encode(out)
		return 0
	}
	state := "done"
	if !res.Changed {
		state = "nothing to do"
	}
	fmt.Fprintf(stdout, "pool %s (uuid %s) on %s: %s %s\n", model.SafeText(res.Pool), res.UUID, res.Host, res.Action, state)
	for _, n := range res.Notes {
		fmt.Fprintln(stdout, "note:", model.SafeText(n))
	}
	return 0
}

// headlessPeers connects to config.yaml's other hosts: a pool on shared
// storage is checked for VMs there as the console checks its hosts. A
// host that cannot be reached is passed with its error (the action is
// then refused on shared storage, with the host named).
// The connector's connections close with the environment.
func headlessPeers(ctx context.Context, e *env.Env, uri string) []pool.Peer {
	var peers []pool.Peer
	for _, u := range e.Config.URIs() {
		if u == uri || strings.TrimSpace(u) == "" {
			continue
		}
		c, err := e.Connector.Conn(ctx, u)
		if err != nil {
			peers = append(peers, pool.Peer{Host: u, Err: err})
			continue
		}
		peers = append(peers, pool.Peer{Host: u, Libvirt: c})
	}
	return peers
}
