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

const driveResizeUsage = `stowage drive resize: grow a drive (or shrink a plain one), encryption-aware.

Usage:
  stowage drive resize --uri U --pool P --name N --size S [--shrink --confirm N]
                       [--encryption luks1|luks2] [--ceph-conf F] [--ceph-keyring K] [--json]

--size is what the GUEST sees: absolute (20G) or a growth (+5G). On a
QEMU-layer LUKS volume that is the payload (qemu-img adds the header); on
a librbd-LUKS image the image is made that size plus its 4 MiB (LUKS1) or
16 MiB (LUKS2) header. A drive open in a running VM is resized through
that VM's QEMU (the guest sees the new size at once, no restart); a VM
that has it in its config only sees it at its next start. A drive open in
more than one running VM is refused. A grow cannot be undone. Shrinking:
never for LUKS; for plain drives only with --shrink and --confirm NAME,
and not while a running VM has the drive open. If the drive changes
between the check and the resize (another admin), nothing is done and
stowage says so. --encryption names a librbd image's LUKS version when
Ceph cannot be reached to read its header.

Flags:
`

type resizeFlags struct {
	uri, pool, name, size, confirm, encryption string
	cephConf, cephKeyring                      string
	shrink, json, readonly                     bool
	timeout                                    time.Duration
}

func cmdDriveResize(args []string, stdout, stderr io.Writer) int {
	var f resizeFlags
	fs := flag.NewFlagSet("stowage drive resize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, driveResizeUsage); fs.PrintDefaults() }
	fs.StringVar(&f.uri, "uri", "", "libvirt URI of the host (default: the config's first host, else qemu:///system)")
	fs.StringVar(&f.pool, "pool", "", "storage pool")
	fs.StringVar(&f.name, "name", "", "volume (drive) name")
	fs.StringVar(&f.size, "size", "", "size the guest is to see: 20G, or +5G to grow by 5 GiB")
	fs.BoolVar(&f.shrink, "shrink", false, "allow a smaller size (plain drives only; needs --confirm)")
	fs.StringVar(&f.confirm, "confirm", "", "shrink: the drive's name again")
	fs.StringVar(&f.encryption, "encryption", "", "librbd images without Ceph access: luks1 or luks2")
	fs.StringVar(&f.cephConf, "ceph-conf", "", "ceph.conf for rbd pools (default as `stowage drive create`)")
	fs.StringVar(&f.cephKeyring, "ceph-keyring", "", "keyring of the rbd pool's cephx user (default as `stowage drive create`)")
	fs.BoolVar(&f.readonly, "readonly", false, "read-only: refuse (and audit) the resize")
	fs.BoolVar(&f.json, "json", false, "print the result as one JSON object")
	fs.DurationVar(&f.timeout, "timeout", 0, fmt.Sprintf("bound on each libvirt call (default: config.yaml's timeout, else %s)", libvirtx.DefaultTimeout))
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "stowage drive resize: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if f.pool == "" || f.name == "" || f.size == "" {
		return usage("needs --pool, --name and --size (e.g. --size 20G or --size +5G)")
	}
	change, err := model.ParseSizeChange(f.size)
	if err != nil {
		return usage("--size: %v", err)
	}
	if f.confirm != "" && !f.shrink {
		return usage("--confirm is for a shrink: add --shrink, or drop --confirm to grow")
	}
	enc := model.DriveEncryption(f.encryption)
	if enc != "" && enc != model.EncryptLUKS1 && enc != model.EncryptLUKS2 {
		return usage("--encryption %q: luks1 or luks2 (only for librbd images whose header Ceph cannot be read)", f.encryption)
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
	obj := f.pool + "/" + f.name
	fail := func(res drive.Result, err error) int {
		fmt.Fprintln(stderr, "stowage drive resize:", model.SafeText(err.Error()))
		if f.json {
			_ = json.NewEncoder(stdout).Encode(struct {
				drive.Result
				Error string `json:"error"`
			}{res, err.Error()})
		}
		return 1
	}
	if e.ReadOnly {
		r := plan.Runner{Host: uri, Audit: e.Audit, Log: e.Log}
		return fail(drive.Result{Host: uri, Pool: f.pool, Name: f.name},
			r.Refuse("resize drive", obj, fmt.Errorf("--readonly: a resize changes the drive; run without --readonly")))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// The resize and its refresh run on a connection of their own, as
	// every workflow does (a cut read must not cut it).
	conn, err := e.OwnDial(ctx, uri)
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 1
	}
	defer conn.Close()
	d := e.DriveDeps(conn, uri, f.cephConf, f.cephKeyring)
	spec := drive.ResizeSpec{Pool: f.pool, Name: f.name, Size: change, Shrink: f.shrink, Confirm: f.confirm, Encryption: enc}
	p, err := drive.PrepareResize(ctx, d, spec)
	if err != nil {
		return fail(drive.Result{Host: uri, Pool: f.pool, Name: f.name}, err)
	}
	events := make(chan drive.Event, 16)
	printed := make(chan struct{})
	go func() { printEvents(stderr, events); close(printed) }()
	for _, n := range p.Notes {
		events <- drive.Event{Kind: drive.StepDone, Note: "note: " + n}
	}
	res, err := drive.Resize(ctx, d, p, events)
	close(events)
	<-printed
	if err != nil {
		return fail(res, err)
	}
	if f.json {
		_ = json.NewEncoder(stdout).Encode(struct {
			drive.Result
			From uint64 `json:"from"`
		}{res, p.Target.GuestSize})
		return 0
	}
	fmt.Fprintf(stdout, "%s/%s: %s for the guest (was %s)\n", res.Pool, res.Name, model.IBytes(res.Size), model.IBytes(p.Target.GuestSize))
	printResult(stdout, drive.Result{VM: res.VM, Target: res.Target, Attach: res.Attach, Notes: res.Notes}, false)
	return 0
}
