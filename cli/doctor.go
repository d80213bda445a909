package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"stowage/cli/env"
	"stowage/connect"
	"stowage/doctor"
	"stowage/libvirtx"
	"stowage/model"
)

const doctorUsage = `stowage doctor: why a VM will not start, why a drive will not attach, why a
pool is filling. Reads every host (and the Ceph clusters its rbd pools point
at) and lists what is wrong, most severe first: the object, one sentence of
what it costs, the evidence (the call made and its answer) and the fix: a
stowage action where one exists, else the exact command.

Usage:
  stowage doctor [--uri U]... [VM|POOL|POOL/DRIVE] [--json]
  stowage doctor --uri U --fix KIND:TARGET --confirm TARGET [--secret-file F]

With a name, only the findings about that VM, pool or drive are shown.
--json prints {"findings":[{severity, object, message, evidence, fix,
action, check, related}]}. Hosts come from --uri, else config.yaml, else
qemu:///system. Exit status 0 when nothing at warning or above was found,
1 when something was (a host that cannot be read is a critical finding),
2 on bad usage.

Fixes stowage applies itself, each re-checked first (another admin may
have fixed it, or changed it, in between), confirmed by typing its target
(--confirm), and written to the audit log; --readonly refuses them:
  start-pool:POOL          start an inactive pool VMs use
  autostart-pool:POOL      mark such a pool autostart
  set-secret:UUID          re-define a lost disk secret with its UUID and
                           usage; the value (the drive's passphrase) is
                           typed in without echo, or read from --secret-file,
                           never shown, logged or kept
  break-lock:CEPHPOOL/IMAGE  break a stale RBD lock: only that locker's lock
                           with that cookie, only while the locker still
                           does not watch the image (librbd also blocklists
                           the dead locker, as rbd lock rm does)

Checks: pools inactive or not autostarted while VMs use them; VM disks
whose volume is gone; encrypted disks whose secret is missing or has no
value (private secrets hide their value, so those are not judged); orphan
secrets; pools 90% (warning) or 97% (critical) full, or over-committed;
librbd-encrypted drives on a libvirt that cannot hot-plug them; iscsi and
iscsi-direct pools whose target the host no longer reaches; logical pools
whose volume group misses a physical volume. Ceph, for every cluster the
rbd pools point at (as each pool's cephx user, every call bounded by
--timeout; a dead monitor or a refused key is a finding naming the cause):
health detail, pools near their full ratio or quota, images whose lock is
held by a client that no longer watches them, blocklisted clients, images
open from more than one client, a cephx user whose caps do not cover its
pool (read as client.admin where this machine has its keyring).

Reads only, with one exception: an active, persistent iscsi-direct pool
is refreshed (libvirt keeps no session for it, so a refresh is the only
way to reach its target), and libvirt stops a pool whose refresh fails;
the finding says so, and how to start it again. Kernel iscsi pools are
never refreshed (stopping one logs out of its session): their LUNs are
checked against the host's block devices. --readonly refuses the refresh
and the volume-group listing; those checks then say what they could not
read.

Flags:
`

type doctorFlags struct {
	uris                     uriList
	fix, confirm, secretFile string
	json, readonly           bool
	timeout                  time.Duration
}

func cmdDoctor(args []string, stdout, stderr io.Writer) int {
	var f doctorFlags
	fs := flag.NewFlagSet("stowage doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&f.uris, "uri", "libvirt URI of a host (repeatable)")
	fs.BoolVar(&f.json, "json", false, `print {"findings":[…]} as JSON`)
	fs.BoolVar(&f.readonly, "readonly", false, "use the read-only socket; fixes are refused")
	fs.DurationVar(&f.timeout, "timeout", 0, fmt.Sprintf("bound on each call (default: config.yaml's timeout, else %s)", libvirtx.DefaultTimeout))
	fs.StringVar(&f.fix, "fix", "", "apply a fix: KIND:TARGET as a finding's fix names it (start-pool:P, autostart-pool:P, set-secret:UUID, break-lock:CEPHPOOL/IMAGE)")
	fs.StringVar(&f.confirm, "confirm", "", "with --fix: the fix's TARGET, typed again")
	fs.StringVar(&f.secretFile, "secret-file", "", "with --fix set-secret: a file holding the secret's value (default: typed in, without echo)")
	fs.Usage = func() { fmt.Fprint(stderr, doctorUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(stderr, "stowage doctor: one VM, pool or POOL/DRIVE at most, got %q\n", fs.Args())
		return 2
	}
	if f.fix == "" && (f.confirm != "" || f.secretFile != "") {
		fmt.Fprintln(stderr, "stowage doctor: --confirm and --secret-file go with --fix KIND:TARGET")
		return 2
	}
	e, err := env.Load(env.Flags{URIs: f.uris, Timeout: f.timeout, ReadOnly: f.readonly})
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 2
	}
	defer e.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if f.fix != "" {
		return doctorFix(ctx, e, f, stdout, stderr)
	}
	findings := diagnose(ctx, e, e.Hosts)
	if fs.NArg() == 1 {
		name := fs.Arg(0)
		kept := findings[:0]
		for _, fd := range findings {
			if fd.Concerns(name) {
				kept = append(kept, fd)
			}
		}
		findings = kept
	}
	if f.json {
		if rc := printJSON(stdout, stderr, struct {
			Findings []model.Finding `json:"findings"`
		}{findings}); rc != 0 {
			return rc
		}
	} else {
		printFindings(stdout, findings)
	}
	for _, fd := range findings {
		if fd.Severity >= model.SeverityWarning {
			return 1
		}
	}
	return 0
}

// diagnose reads every host at once, one connection each, and runs the
// checks; a host that cannot be read is itself a critical finding.
func diagnose(ctx context.Context, e *env.Env, uris []string) []model.Finding {
	per := make([][]model.Finding, len(uris))
	var wg sync.WaitGroup
	for i, u := range uris {
		wg.Add(1)
		go func() {
			defer wg.Done()
			per[i] = diagnoseHost(ctx, e, u)
		}()
	}
	wg.Wait()
	var out []model.Finding
	for _, fs := range per {
		out = append(out, fs...)
	}
	model.SortFindings(out)
	if out == nil {
		out = []model.Finding{}
	}
	return out
}

func diagnoseHost(ctx context.Context, e *env.Env, uri string) []model.Finding {
	c, err := e.OwnDial(ctx, uri)
	if err != nil {
		return []model.Finding{unreachable(uri, err)}
	}
	defer c.Close()
	return doctorFor(e).Diagnose(ctx, c, c.Inventory(ctx))
}

// doctorFor is the doctor `stowage doctor` and the console share (see
// connect.Doctor): the storage probes, the Ceph checks through e's Ceph
// access, and break-lock.
func doctorFor(e *env.Env) connect.Doctor {
	return connect.Doctor{
		Probes: storageFindings,
		Ceph: func(ctx context.Context, c *libvirtx.Conn, h model.HostInfo) []model.Finding {
			return diagnoseCeph(ctx, e, c, h)
		},
		BreakLock: func(ctx context.Context, c *libvirtx.Conn, h model.HostInfo, a model.FixAction) error {
			return breakLock(ctx, e, c, h, a)
		},
	}
}

// storageFindings runs the checks that probe beyond the inventory: the
// iscsi pools' targets and the logical pools' VGs (see
// libvirtx.ProbeISCSIPool for the one refresh that makes). A fix's
// re-check runs none of them (their fixes are commands), so it never
// refreshes pools on the way.
func storageFindings(ctx context.Context, c *libvirtx.Conn, h model.HostInfo) []model.Finding {
	if testDriver(h.URI) {
		return nil
	}
	var probes []model.ISCSIProbe
	for _, p := range doctor.ProbedISCSIPools(h) {
		probes = append(probes, c.ProbeISCSIPool(ctx, p))
	}
	fs := doctor.ISCSISessions(h, probes)
	if doctor.NeedsVGProbe(h) {
		fs = append(fs, doctor.MissingPVs(h, c.ProbeVolumeGroups(ctx))...)
	}
	return fs
}

func unreachable(uri string, err error) model.Finding {
	return model.Finding{
		Severity: model.SeverityCritical, Object: "host " + uri, Check: "host.unreachable",
		Message:  fmt.Sprintf("Host %s cannot be read: nothing on it can be checked or managed from here.", uri),
		Evidence: err.Error(),
		Fix:      fmt.Sprintf("check that libvirtd runs on the host and that this machine reaches it: virsh -c %s list", doctor.Shell(uri)),
	}
}

// printFindings writes each finding as a block; names from libvirt and
// Ceph are escaped (a control character in one must not reach the
// terminal).
func printFindings(w io.Writer, fs []model.Finding) {
	if len(fs) == 0 {
		fmt.Fprintln(w, "No findings: nothing stowage checks is wrong.")
		return
	}
	counts := map[model.Severity]int{}
	for _, f := range fs {
		counts[f.Severity]++
		fmt.Fprintf(w, "%-8s  %s\n", strings.ToUpper(f.Severity.String()), model.SafeText(f.Object))
		fmt.Fprintf(w, "  %s\n", model.SafeText(f.Message))
		fmt.Fprintf(w, "  evidence: %s\n", model.SafeText(f.Evidence))
		if f.Fix != "" {
			fmt.Fprintf(w, "  fix: %s\n", model.SafeText(f.Fix))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%d critical, %d warning, %d info\n", counts[model.SeverityCritical], counts[model.SeverityWarning], counts[model.SeverityInfo])
}
