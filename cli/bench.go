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
	"slices"
	"strings"
	"syscall"
	"time"

	"stowage/benchenc"
	"stowage/ceph"
	"stowage/cli/env"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
)

const benchUsage = `stowage bench encryption: what encryption costs on a pool, measured.

Usage:
  stowage bench encryption [--uri URI] --pool POOL [--size SIZE] [--runs N] [--quick] [--json]
                           [--ceph-conf F] [--ceph-keyring K]

POOL is a libvirt pool on this machine's libvirtd (the QEMU tools run here):
  rbd   compares plain, QEMU-layer LUKS (qemu-img, LUKS1 aes-256-xts-plain64)
        and librbd LUKS2 (go-ceph, AES-256) images in the pool's Ceph pool,
        reached as the pool's cephx user at its monitors (Ceph found as for
        stowage drive: --ceph-conf/--ceph-keyring, config.yaml, librados's places)
  dir   compares plain and QEMU-layer LUKS files in the pool's directory
Three scratch images (two on dir) named stowage-bench-<random>-{plain,qemu-luks,
librbd-luks2} are created, measured and always removed, also on failure or
Ctrl+C/SIGTERM; a removal that fails is named with the command that finishes it.
Creates and removals are in the audit log. --readonly refuses (it creates images).

Measured through QEMU's block layer: a qemu-storage-daemon opens each image
(the one-time unlock, PBKDF, happens there and is reported apart) and exports
it over NBD; qemu-img bench drives it: 1 MiB sequential writes then reads at
QD1 and QD8, 4 KiB reads at QD16 scattered by a prime stride. Medians over
--runs. Results on stdout (a table in seed 003's layout, or --json), progress
on stderr.

Flags:
`

type benchFlags struct {
	uri, pool, size, cephConf, cephKeyring string
	runs                                   int
	quick, json, readonly                  bool
	timeout                                time.Duration
}

func runBench(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, benchUsage)
		benchFlagSet(&benchFlags{}, stderr).PrintDefaults()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] != "encryption" {
		fmt.Fprintf(stderr, "stowage bench: unknown benchmark %q: the one there is is `stowage bench encryption` (see stowage bench --help)\n", args[0])
		return 2
	}
	f, o, err := parseBenchEncryption(args[1:], stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "stowage bench encryption:", err)
		return 2
	}
	// The first signal cancels: the run stops, the images are removed.
	// Later ones are caught too, so that the removal is not cut short.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return benchEncryption(ctx, f, o, stdout, stderr, nil)
}

func benchFlagSet(f *benchFlags, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("stowage bench encryption", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.uri, "uri", "", "libvirt URI of this machine's libvirtd (default: config.yaml's first host, else "+env.DefaultURI+")")
	fs.StringVar(&f.pool, "pool", "", "libvirt pool of type rbd or dir (required)")
	fs.StringVar(&f.size, "size", "", fmt.Sprintf("each image's size: %s to %s, whole MiB (default %s; --quick %s)",
		model.IBytes(benchenc.MinSize), model.IBytes(benchenc.MaxSize), model.IBytes(benchenc.FullOptions.Size), model.IBytes(benchenc.QuickOptions.Size)))
	fs.IntVar(&f.runs, "runs", 0, fmt.Sprintf("runs of every workload on every image; figures are medians (default %d; --quick %d)", benchenc.FullOptions.Runs, benchenc.QuickOptions.Runs))
	fs.BoolVar(&f.quick, "quick", false, "small images, one run: a first look (creating the encrypted images, PBKDF included, takes most of it)")
	fs.BoolVar(&f.json, "json", false, "print the figures as JSON")
	fs.BoolVar(&f.readonly, "readonly", false, "refused: the benchmark creates and removes images")
	fs.StringVar(&f.cephConf, "ceph-conf", "", "ceph.conf for rbd pools (default: as stowage drive finds it)")
	fs.StringVar(&f.cephKeyring, "ceph-keyring", "", "keyring of the rbd pool's cephx user (default: as stowage drive finds it)")
	fs.DurationVar(&f.timeout, "timeout", 0, fmt.Sprintf("bound on each libvirt call (default: config.yaml's timeout, else %s)", libvirtx.DefaultTimeout))
	return fs
}

// parseBenchEncryption reads and checks the flags; every message says
// what would be right.
func parseBenchEncryption(args []string, stderr io.Writer) (benchFlags, benchenc.Options, error) {
	var f benchFlags
	fs := benchFlagSet(&f, stderr)
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return f, benchenc.Options{}, err
	}
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	if fs.NArg() > 0 {
		return f, benchenc.Options{}, fmt.Errorf("unexpected argument %q: flags only, e.g. --pool default", fs.Arg(0))
	}
	if f.pool == "" {
		return f, benchenc.Options{}, errors.New("--pool is required: name a libvirt pool of type rbd or dir (virsh pool-list --details shows them)")
	}
	o := benchenc.FullOptions
	if f.quick {
		o = benchenc.QuickOptions
	}
	if f.size != "" {
		n, err := benchenc.ParseSize(f.size)
		if err != nil {
			return f, o, err
		}
		o.Size = n
	}
	if given["runs"] {
		if err := benchenc.CheckRuns(f.runs); err != nil {
			return f, o, err
		}
		o.Runs = f.runs
	}
	if given["timeout"] && f.timeout <= 0 {
		return f, o, fmt.Errorf("--timeout %s: give a positive duration such as 15s", f.timeout)
	}
	if f.uri != "" {
		t, err := libvirtx.ParseURI(f.uri, false)
		if err != nil {
			return f, o, fmt.Errorf("--uri: %w", err)
		}
		if !t.Local() {
			return f, o, fmt.Errorf("--uri %s is not this machine's libvirtd: the benchmark runs QEMU's tools here, on the pool's storage; run stowage on that host, or give qemu:///system", f.uri)
		}
	}
	return f, o, nil
}

// benchEncryption runs the benchmark on ctx; onEvent (tests) sees every
// create and removal as it happens.
func benchEncryption(ctx context.Context, f benchFlags, o benchenc.Options, stdout, stderr io.Writer, onEvent func(plan.Event)) int {
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
	host := e.FirstHost()
	runner := plan.Runner{Host: host, Audit: e.Audit, Log: e.Log}
	if f.readonly {
		err := runner.Refuse("bench encryption", "pool "+f.pool, errors.New(
			"--readonly refuses the benchmark: it creates and removes scratch images in the pool; run it without --readonly"))
		fmt.Fprintln(stderr, "stowage bench encryption:", err)
		return 2
	}
	if t, err := libvirtx.ParseURI(host, false); err == nil && !t.Local() {
		fmt.Fprintf(stderr, "stowage bench encryption: host %s (config.yaml's first) is not this machine's libvirtd: give --uri qemu:///system\n", host)
		return 2
	}
	conn, err := e.Connector.Conn(ctx, host)
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 1
	}
	st, done, err := benchStorage(ctx, e, conn, host, f, o)
	if err != nil {
		fmt.Fprintln(stderr, "stowage bench encryption:", err)
		return 2
	}
	defer done()

	events := make(chan plan.Event, 16)
	printed := make(chan struct{})
	go func() {
		tee := make(chan plan.Event)
		go func() { printEvents(stderr, tee); close(printed) }()
		for ev := range events {
			if onEvent != nil {
				onEvent(ev)
			}
			tee <- ev
		}
		close(tee)
	}()
	runner.Events = events
	fmt.Fprintf(stderr, "benchmarking encryption on %s pool %s: %s images, %d run(s)\n", st.Kind(), f.pool, model.IBytes(o.Size), o.Runs)
	res, err := benchenc.Run(ctx, benchenc.Deps{Exec: benchenc.OSExec{}, Storage: st, Runner: runner,
		// Through the events channel, so that the lines keep their order
		// with the steps' (a StepDone with a Note prints as the note).
		Progress: func(s string) { events <- plan.Event{Kind: plan.StepDone, Index: -1, Note: "… " + s} }}, o)
	close(events)
	<-printed
	if err != nil {
		fmt.Fprintln(stderr, "stowage bench encryption:", err)
		return 1
	}
	res.Pool = f.pool
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
		return 0
	}
	fmt.Fprint(stdout, res.Table())
	return 0
}

// benchStorage finds the pool and what the scratch images need: an rbd
// pool's Ceph access (as the drive workflows find it), or a dir pool's
// directory. done releases what it opened.
func benchStorage(ctx context.Context, e *env.Env, conn *libvirtx.Conn, host string, f benchFlags, o benchenc.Options) (benchenc.Storage, func(), error) {
	p, err := conn.Pool(ctx, f.pool)
	if errors.Is(err, model.ErrNotFound) {
		return nil, nil, fmt.Errorf("--pool %s: no such pool on %s; %s", f.pool, host, poolChoices(ctx, conn))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("--pool %s: %w", f.pool, err)
	}
	if p.Type != model.PoolRBD && p.Type != model.PoolDir {
		return nil, nil, fmt.Errorf("--pool %s is a %s pool: the benchmark compares encryption on rbd pools (plain, QEMU-layer LUKS, librbd LUKS2) and dir pools (plain, QEMU-layer LUKS); %s", f.pool, p.Type, poolChoices(ctx, conn))
	}
	if !p.Active {
		return nil, nil, fmt.Errorf("--pool %s is not running: start it first (virsh pool-start %s)", f.pool, f.pool)
	}
	n, header := uint64(2), uint64(4<<20)
	if p.Type == model.PoolRBD {
		n, header = 3, benchenc.LUKS2HeaderSize
	}
	if need := n * (o.Size + header); p.Available > 0 && need > p.Available {
		return nil, nil, fmt.Errorf("--pool %s has %s free; %d scratch images of --size %s need %s: give a smaller --size",
			f.pool, model.IBytes(p.Available), n, model.IBytes(o.Size), model.IBytes(need))
	}
	if p.Type == model.PoolDir {
		if p.TargetPath == "" {
			return nil, nil, fmt.Errorf("--pool %s has no target path", f.pool)
		}
		return &benchenc.Dir{Exec: benchenc.OSExec{}, Path: p.TargetPath}, func() {}, nil
	}
	if !ceph.Supported() {
		return nil, nil, ceph.ErrNoCeph
	}
	c, err := e.CephConfig(ctx, conn, p, host, f.cephConf, f.cephKeyring)
	if err != nil {
		return nil, nil, err
	}
	key := c.Key
	if len(key) == 0 {
		if key, err = ceph.KeyringKey(c.Keyring, c.User); err != nil {
			return nil, nil, fmt.Errorf("cephx key of client.%s for QEMU: %w", c.User, err)
		}
	}
	cl, err := ceph.Connect(ctx, c)
	if err != nil {
		clear(key)
		return nil, nil, err
	}
	st := &benchenc.RBD{Ceph: cl, Exec: benchenc.OSExec{}, Pool: p.SourceName, User: c.User,
		Monitors: p.SourceHosts, ConfFile: c.ConfFile, Key: key}
	return st, func() { cl.Close(); clear(key) }, nil
}

// poolChoices names the pools the benchmark can use on the host.
func poolChoices(ctx context.Context, conn *libvirtx.Conn) string {
	pools, err := conn.Pools(ctx)
	if err != nil {
		return "list the pools with virsh pool-list --details"
	}
	var ok []string
	for _, p := range pools {
		if p.Type == model.PoolRBD || p.Type == model.PoolDir {
			ok = append(ok, p.Name+" ("+string(p.Type)+")")
		}
	}
	slices.Sort(ok)
	if len(ok) == 0 {
		return "this host has no rbd or dir pool"
	}
	return "pools that would do: " + strings.Join(ok, ", ")
}
