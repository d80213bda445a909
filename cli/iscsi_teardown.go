package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"stowage/cli/env"
	"stowage/iscsi"
	"stowage/model"
	"stowage/plan"
)

// teardownJSON is what `stowage iscsi teardown --json` prints.
type teardownJSON struct {
	OK        bool                   `json:"ok"`
	DryRun    bool                   `json:"dry_run"`
	Confirmed bool                   `json:"confirmed"`
	Refused   bool                   `json:"refused"`
	Preview   *iscsi.TeardownPreview `json:"preview,omitempty"`
	Steps     []iscsi.Step           `json:"steps"`
	LeftAlone []string               `json:"left_alone,omitempty"`
	Error     string                 `json:"error,omitempty"`
}

// iscsiTeardown is `stowage iscsi teardown`: the preview, and with
// --confirm the removal of exactly what the preview read.
func iscsiTeardown(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stowage iscsi teardown", flag.ContinueOnError)
	fs.SetOutput(stderr)
	uri := fs.String("uri", "", "libvirt URI of the hypervisor (required)")
	pool := fs.String("pool", "", "the logical pool built on an iscsi pool (or that iscsi pool)")
	iscsiPool := fs.String("iscsi-pool", "", "the iscsi pool under it (checked; found when left out)")
	dryRun := fs.Bool("dry-run", false, "print what would go and change nothing")
	confirm := fs.String("confirm", "", "the logical pool's name again, to confirm")
	asJSON := fs.Bool("json", false, "print one JSON object on stdout")
	readonly := fs.Bool("readonly", false, "refuse (audited): a teardown changes the host")
	timeout := fs.Duration("timeout", 3*time.Minute, "bound on each libvirt call (a logout or vgremove over the SAN can take long)")
	var checkHosts multiFlag
	fs.Var(&checkHosts, "check-host", "another hypervisor whose VMs must not use the pools (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(msg string) int {
		fmt.Fprintf(stderr, "stowage iscsi teardown: %s\n(stowage iscsi --help)\n", msg)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return usage(fmt.Sprintf("unexpected argument %q: name the pool with --pool", fs.Arg(0)))
	case *uri == "":
		return usage("--uri is required (the hypervisor, e.g. qemu+ssh://root@host/system)")
	case *pool == "":
		return usage("--pool is required: the logical pool to tear down (or its iscsi pool)")
	}
	if err := iscsi.ValidatePoolName(*pool); err != nil {
		return usage("--pool: " + err.Error())
	}
	if *iscsiPool != "" {
		if err := iscsi.ValidatePoolName(*iscsiPool); err != nil {
			return usage("--iscsi-pool: " + err.Error())
		}
	}
	res := teardownJSON{DryRun: *dryRun, Steps: []iscsi.Step{}}
	finish := func(err error) int {
		if err != nil {
			res.Error = err.Error()
			res.Refused = errors.Is(err, iscsi.ErrRefused)
		}
		if *asJSON {
			if rc := printJSON(stdout, stderr, res); rc != 0 {
				return rc
			}
		} else if err != nil {
			// Names come from libvirt: escaped for the terminal.
			fmt.Fprintln(stderr, "stowage iscsi teardown:", model.SafeLines(err.Error()))
		}
		if err != nil || !res.OK {
			return 1
		}
		return 0
	}
	e, err := env.Load(env.Flags{URIs: []string{*uri}, Timeout: *timeout, ReadOnly: *readonly})
	if err != nil {
		return finish(err)
	}
	defer e.Close()
	r := plan.Runner{Host: *uri, Audit: e.Audit, Log: e.Log}
	if e.ReadOnly {
		return finish(refusedErr(r.Refuse("tear down LVM on iSCSI", *uri+" pool "+*pool,
			errors.New("--readonly: a teardown removes pools, a VG and a session; run without --readonly"))))
	}
	ctx := context.Background()
	conn, err := e.Connector.Conn(ctx, *uri)
	if err != nil {
		return finish(err)
	}
	var others []iscsi.OtherHost
	for _, u := range checkHosts {
		o, err := e.Connector.Conn(ctx, u)
		if err != nil {
			return finish(fmt.Errorf("--check-host %s: %w", u, err))
		}
		others = append(others, iscsi.OtherHost{URI: u, Host: o})
	}
	pv, err := iscsi.PreviewTeardown(ctx, conn, r, others, *pool, *iscsiPool)
	if err != nil {
		return finish(err)
	}
	res.Preview = &pv
	previewOut := stderr
	if *dryRun || *confirm == "" {
		previewOut = stdout
	}
	if !*asJSON {
		fmt.Fprint(previewOut, model.SafeLines(pv.Text()))
	}
	if *dryRun {
		res.OK = true
		return finish(nil)
	}
	if *confirm == "" {
		return finish(fmt.Errorf("nothing changed: to tear this down, rerun with --confirm %s", pv.ConfirmName()))
	}
	res.Confirmed = *confirm == pv.ConfirmName()
	progress := func(st iscsi.Step) {
		if st.Status == iscsi.StepRunning {
			return
		}
		fmt.Fprintln(stderr, model.SafeText(st.Line()))
	}
	out, err := iscsi.RunTeardown(ctx, conn, r, others, pv, *confirm, progress)
	res.Steps, res.LeftAlone = out.Steps, out.LeftAlone
	if res.Steps == nil {
		res.Steps = []iscsi.Step{}
	}
	if err != nil {
		return finish(err)
	}
	res.OK = true
	if !*asJSON {
		fmt.Fprintf(stdout, "torn down: %s on %s\n", model.SafeText(pv.ConfirmName()), *uri)
		for _, a := range out.LeftAlone {
			fmt.Fprintln(stdout, model.SafeText(a))
		}
	}
	return finish(nil)
}

// refusedErr marks a refusal made before iscsi's own checks.
func refusedErr(err error) error { return fmt.Errorf("%w: %w", iscsi.ErrRefused, err) }
