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
	"time"

	"stowage/cli/env"
	"stowage/drive"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
)

const driveCloneUsage = `stowage drive clone: copy a drive within its pool or to another pool of the
same host. An encrypted drive's clone gets its OWN secret (new UUID, new
random passphrase, private) and is re-encrypted; two drives never share a
key silently.

Usage:
  stowage drive clone --uri U --pool P --name N --to NEW [--to-pool P2]
                      [--rbd-method copy|clone] [--ceph-conf F] [--ceph-keyring K] [--json]

  plain volumes        libvirt copies them (virsh vol-clone), progress from
                       the new volume's allocation
  QEMU-layer LUKS      a new secret, then libvirt's qemu-img convert decrypts
                       with the source's secret and encrypts with the new one;
                       into dir, fs and netfs pools only (libvirt copies into
                       an LV byte for byte, key included)
  plain RBD images     --rbd-method copy (default): a deep copy, independent
                       of the source; clone: a copy-on-write child of a
                       protected snapshot stowage-clone-NEW of the source:
                       instant and thin, but the source cannot be deleted
                       while the child exists (rbd flatten detaches it)
  librbd-LUKS images   a new secret and a new image formatted by librbd with
                       the new passphrase; then libvirt starts a PAUSED helper
                       domain with both disks and QEMU copies the decrypted
                       data (neither passphrase leaves libvirt). A temporary
                       child of a snapshot is read, not the source itself.
                       --rbd-method clone is refused for them (a child opens
                       with its parent's key)

Refused, with nothing changed: a NEW name already in the target pool
(never overwritten), a drive attached to a running VM (a copy read while
the guest writes is torn), pools of different kinds or Ceph clusters,
--readonly. A failure rolls back only what this run made (the new volume
by key, the new secret by UUID, the new image and snapshot by id).
Progress goes to stderr, the result to stdout (--json: one object).

Flags:
`

type cloneFlags struct {
	uri, pool, name, to, toPool, method string
	cephConf, cephKeyring               string
	json, readonly                      bool
	timeout                             time.Duration
}

func cmdDriveClone(args []string, stdout, stderr io.Writer) int {
	var f cloneFlags
	fs := flag.NewFlagSet("stowage drive clone", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, driveCloneUsage); fs.PrintDefaults() }
	fs.StringVar(&f.uri, "uri", "", "libvirt URI of the host (default: the config's first host, else qemu:///system)")
	fs.StringVar(&f.pool, "pool", "", "the source drive's pool")
	fs.StringVar(&f.name, "name", "", "the source drive")
	fs.StringVar(&f.to, "to", "", "the clone's name (must not exist in the target pool)")
	fs.StringVar(&f.toPool, "to-pool", "", "target pool on the same host (default: --pool)")
	fs.StringVar(&f.method, "rbd-method", "copy", "plain RBD images: copy (deep copy) or clone (snapshot + copy-on-write clone)")
	fs.StringVar(&f.cephConf, "ceph-conf", "", "ceph.conf for rbd pools (see stowage drive --help)")
	fs.StringVar(&f.cephKeyring, "ceph-keyring", "", "keyring of the rbd pool's cephx user (see stowage drive --help)")
	fs.BoolVar(&f.json, "json", false, "print the result as one JSON object")
	fs.BoolVar(&f.readonly, "readonly", false, "refuse (and audit) instead of cloning")
	fs.DurationVar(&f.timeout, "timeout", 0, fmt.Sprintf("bound on each libvirt call (default: config.yaml's timeout, else %s)", libvirtx.DefaultTimeout))
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "stowage drive clone: unexpected argument %q\n", fs.Arg(0))
		return 2
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
	f.uri = e.FirstHost()
	spec := model.CloneSpec{Pool: f.pool, Name: f.name, ToPool: f.toPool, To: f.to, RBDMethod: model.RBDCloneMethod(f.method)}
	r := plan.Runner{Host: f.uri, Audit: e.Audit, Log: e.Log}
	obj := spec.Pool + "/" + spec.Name + " -> " + spec.Target() + "/" + spec.To
	if usage := cloneUsageError(spec); usage != nil {
		fmt.Fprintln(stderr, "stowage drive clone:", r.Refuse("clone drive", obj, usage))
		return 2
	}
	if e.ReadOnly {
		err := r.Refuse("clone drive", obj, fmt.Errorf("--readonly: a clone creates a volume (and a secret); run without --readonly"))
		return cloneFailed(stdout, stderr, f.json, drive.Result{}, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	conn, err := e.OwnDial(ctx, f.uri)
	if err != nil {
		r.Record("clone drive", obj, plan.ResultFailed, err, 0)
		fmt.Fprintln(stderr, "stowage:", err)
		return 1
	}
	defer conn.Close()
	d := e.DriveDeps(conn, f.uri, f.cephConf, f.cephKeyring)
	p, err := drive.PrepareClone(ctx, d, spec)
	if err != nil {
		return cloneFailed(stdout, stderr, f.json, drive.Result{Host: f.uri, Pool: spec.Target(), Name: spec.To}, err)
	}
	events := make(chan drive.Event, 16)
	printed := make(chan struct{})
	go func() { printEvents(stderr, events); close(printed) }()
	for _, w := range p.Warnings {
		events <- drive.Event{Kind: drive.StepDone, Note: "warning: " + w}
	}
	res, err := drive.Clone(ctx, d, p, events)
	close(events)
	<-printed
	if err != nil {
		return cloneFailed(stdout, stderr, f.json, res, err)
	}
	printResult(stdout, res, f.json)
	return 0
}

// cloneUsageError is a flag combination no host could accept.
func cloneUsageError(s model.CloneSpec) error {
	switch {
	case s.Pool == "" || s.Name == "":
		return fmt.Errorf("name the source drive with --pool and --name")
	case s.To == "":
		return fmt.Errorf("name the clone with --to NEW")
	case s.To == s.Name && s.Target() == s.Pool:
		return fmt.Errorf("--to %q is the source itself: give the clone a new name (or --to-pool another pool)", s.To)
	}
	_, err := model.ParseRBDCloneMethod(string(s.RBDMethod))
	if err != nil {
		return fmt.Errorf("--rbd-method: %w", err)
	}
	return nil
}

func cloneFailed(stdout, stderr io.Writer, asJSON bool, res drive.Result, err error) int {
	fmt.Fprintln(stderr, "stowage drive clone:", model.SafeText(err.Error()))
	if asJSON {
		_ = json.NewEncoder(stdout).Encode(struct {
			drive.Result
			Error string `json:"error"`
		}{res, err.Error()})
	}
	return 1
}
