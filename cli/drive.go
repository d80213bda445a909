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
	"stowage/drive"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/driveprogress"
	"stowage/ui/standalone"
)

const driveUsage = `stowage drive: create, attach, detach and delete (encrypted) drives headlessly.
Progress goes to stderr, the result (volume path/key, secret UUID, target
device) to stdout; --json makes it one JSON object. Ctrl+C during create
cancels and rolls back. Every change is appended to the audit log
$XDG_STATE_HOME/stowage/audit.jsonl.

Usage:
  stowage drive create --uri U --pool P --name N --size S [--format raw|qcow2]
                       [--encryption luks|luks1|luks2|none] [--cipher aes-256-xts-plain64]
                       [--attach VM [--live] [--persistent] [--hotplug-fallback next-start|qemu]]
                       [--ceph-conf F] [--ceph-keyring K] [--json]
  stowage drive attach --uri U --pool P --name N --vm VM [--live] [--persistent]
                       [--encryption luks1|luks2] [--hotplug-fallback next-start|qemu] [--json]
  stowage drive detach --uri U --vm VM --target vdX [--live] [--persistent] [--json]
  stowage drive delete --uri U --pool P --name N --confirm N [--json]
  stowage drive clone --uri U --pool P --name N --to NEW [--to-pool P2]
                      [--rbd-method copy|clone] [--json]
                       a copy on the same host; an encrypted drive's clone gets its
                       own secret and passphrase (stowage drive clone --help)
  stowage drive wipe     --uri U --pool P --name N [--algorithm zero] --confirm N [--json]
  stowage drive upload   --uri U --pool P --name N --file F --confirm N [--json]
  stowage drive download --uri U --pool P --name N --file F [--json]
                       overwrite a drive with libvirt's wipe algorithms, or
                       stream a local file into it or out of it, with
                       percent, MiB/s and time left on stderr
                       (stowage drive wipe --help)
  stowage drive resize --uri U --pool P --name N --size S|+S [--shrink --confirm N] [--json]
                       grow (any drive, live through QEMU when a VM runs it) or shrink
                       (plain only); see stowage drive resize --help
  stowage drive wizard [--uri U] [--pool P] [--vm VM] [--theme T]
                       the console's create-drive wizard on its own

Without --uri every verb works on config.yaml's first host, else
qemu:///system; the wizard checks the other configured hosts as the
console does. --timeout defaults to config.yaml's timeout, else 15s.

Sizes: 10G and 10GiB are powers of 1024, 10GB of 1000; 500M, 1.5T, bytes.
Encryption: luks is QEMU-layer LUKS on dir/fs/netfs/logical/disk pools
(libvirt's default cipher is aes-256-cbc-essiv:sha256; aes-256-xts-plain64
is recommended) and librbd LUKS1 on rbd pools; luks1/luks2 on rbd pools
are formatted by librbd (the image grows by the 4/16 MiB header so the
guest sees --size). Neither --live nor --persistent means both.
librbd-encrypted disks cannot be hot-plugged on libvirt 9.x: choose
--hotplug-fallback next-start (persistent now, live at the next VM start)
or qemu (live now with QEMU-layer decryption, LUKS1 only, up to -43%
sequential read); stowage never picks one for you.
Ceph (librbd encryption on rbd pools) is reached as the pool's cephx user
(its <auth username>, USER below), at the pool's monitors. ceph.conf:
--ceph-conf, else config.yaml's hosts[].ceph_conf, else where librados
looks: the files $CEPH_CONF lists, else /etc/ceph/ceph.conf,
~/.ceph/ceph.conf, ./ceph.conf. The key: --ceph-keyring, else
hosts[].ceph_keyring, else the pool's libvirt secret if not private, else
the keyring librados would use: the conf's keyring option for the user,
else /etc/ceph/ceph.client.USER.keyring, /etc/ceph/ceph.keyring,
/etc/ceph/keyring, /etc/ceph/keyring.bin.

Flags:
`

type driveFlags struct {
	uri, pool, name, size, format, encryption, cipher string
	vm, target, fallback, confirm                     string
	cephConf, cephKeyring                             string
	live, persistent, json                            bool
	timeout                                           time.Duration
}

func runDrive(args []string, stdout, stderr io.Writer) int {
	return runDriveWith(args, stdout, stderr, nil)
}

// runDriveWith is runDrive with the passphrase source given (nil:
// crypto/rand), so that a test can know the passphrase and look for it
// in everything stowage writes.
func runDriveWith(args []string, stdout, stderr io.Writer, rnd io.Reader) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, driveUsage)
		driveFlagSet(&driveFlags{}, stderr).PrintDefaults()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	verb := args[0]
	if verb == "wizard" {
		return runDriveWizard(args[1:], stdout, stderr)
	}
	if cmd, ok := driveLifecycleVerbs()[verb]; ok {
		return cmd(args[1:], stdout, stderr)
	}
	var f driveFlags
	fs := driveFlagSet(&f, stderr)
	fs.Usage = func() { fmt.Fprint(stderr, driveUsage); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "stowage drive %s: unexpected argument %q\n", verb, fs.Arg(0))
		return 2
	}
	var uris []string
	if f.uri != "" {
		uris = []string{f.uri}
	}
	e, err := env.Load(env.Flags{URIs: uris, Timeout: f.timeout})
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 2
	}
	defer e.Close()
	f.uri = e.FirstHost()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	conn, err := e.Connector.Conn(ctx, f.uri)
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 1
	}
	d := e.DriveDeps(conn, f.uri, f.cephConf, f.cephKeyring)
	d.Rand = rnd
	events := make(chan drive.Event, 16)
	printed := make(chan struct{})
	go func() { printEvents(stderr, events); close(printed) }()
	var res drive.Result
	switch verb {
	case "create":
		res, err = driveCreate(ctx, d, f, events)
	case "attach":
		res, err = driveAttach(ctx, d, f, events)
	case "detach":
		mode := model.AttachMode{Live: f.live, Persistent: f.persistent}
		if !mode.Live && !mode.Persistent {
			mode = model.AttachMode{Live: true, Persistent: true}
		}
		if f.vm == "" || f.target == "" {
			err = fmt.Errorf("detach needs --vm and --target")
			break
		}
		res, err = drive.Detach(ctx, d, f.vm, f.target, mode, events)
	case "delete":
		if f.pool == "" || f.name == "" {
			err = fmt.Errorf("delete needs --pool and --name")
			break
		}
		if f.confirm != f.name {
			err = fmt.Errorf("delete is destructive: repeat the drive's name with --confirm %s", f.name)
			break
		}
		res, err = drive.Delete(ctx, d, f.pool, f.name, events)
	default:
		err = fmt.Errorf("unknown verb %q: use create, attach, detach or delete", verb)
	}
	close(events)
	<-printed
	if err != nil {
		fmt.Fprintln(stderr, "stowage drive "+verb+":", err)
		if f.json {
			_ = json.NewEncoder(stdout).Encode(struct {
				drive.Result
				Error string `json:"error"`
			}{res, err.Error()})
		}
		return 1
	}
	printResult(stdout, res, f.json)
	return 0
}

func driveFlagSet(f *driveFlags, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("stowage drive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.uri, "uri", "", "libvirt URI of the host (default: the config's first host, else qemu:///system)")
	fs.StringVar(&f.pool, "pool", "", "storage pool")
	fs.StringVar(&f.name, "name", "", "volume (drive) name")
	fs.StringVar(&f.size, "size", "", "size the guest sees: 10G, 10GiB, 500M, 1.5T or bytes")
	fs.StringVar(&f.format, "format", "", "raw or qcow2 (file pools); raw elsewhere")
	fs.StringVar(&f.encryption, "encryption", "luks", "luks, luks1, luks2 or none")
	fs.StringVar(&f.cipher, "cipher", "", "LUKS cipher for QEMU-layer LUKS, e.g. "+model.RecommendedCipher+" (default: libvirt's "+model.LibvirtDefaultCipher+")")
	fs.StringVar(&f.vm, "attach", "", "create: VM to attach the new drive to")
	fs.StringVar(&f.vm, "vm", "", "attach/detach: the VM")
	fs.StringVar(&f.target, "target", "", "detach: the guest device (vdb)")
	fs.BoolVar(&f.live, "live", false, "attach/detach the running VM")
	fs.BoolVar(&f.persistent, "persistent", false, "attach/detach the VM's persistent config")
	fs.StringVar(&f.fallback, "hotplug-fallback", "", "when librbd disks cannot be hot-plugged: next-start or qemu")
	fs.StringVar(&f.confirm, "confirm", "", "delete: the drive's name again")
	fs.StringVar(&f.cephConf, "ceph-conf", "", "ceph.conf for rbd pools (default: config.yaml hosts[].ceph_conf, else $CEPH_CONF, /etc/ceph/ceph.conf, ~/.ceph/ceph.conf, ./ceph.conf, as librados)")
	fs.StringVar(&f.cephKeyring, "ceph-keyring", "", "keyring of the rbd pool's cephx user USER (default: hosts[].ceph_keyring, else the pool's libvirt secret if not private, else the conf's keyring option or /etc/ceph/ceph.client.USER.keyring, /etc/ceph/ceph.keyring, /etc/ceph/keyring, /etc/ceph/keyring.bin)")
	fs.BoolVar(&f.json, "json", false, "print the result as JSON")
	fs.DurationVar(&f.timeout, "timeout", 0, fmt.Sprintf("bound on each libvirt call (default: config.yaml's timeout, else %s)", libvirtx.DefaultTimeout))
	return fs
}

func driveCreate(ctx context.Context, d drive.Deps, f driveFlags, events chan<- drive.Event) (drive.Result, error) {
	if f.pool == "" || f.name == "" || f.size == "" {
		return drive.Result{}, fmt.Errorf("create needs --pool, --name and --size")
	}
	size, err := model.ParseSize(f.size)
	if err != nil {
		return drive.Result{}, fmt.Errorf("--size: %w", err)
	}
	fb, err := parseFallback(f.fallback)
	if err != nil {
		return drive.Result{}, err
	}
	spec := model.DriveSpec{Host: f.uri, Pool: f.pool, Name: f.name, Size: size, Format: f.format,
		Encryption: model.DriveEncryption(f.encryption), Cipher: f.cipher, AttachVM: f.vm,
		Attach: model.AttachMode{Live: f.live, Persistent: f.persistent}, Fallback: fb}
	p, err := drive.Prepare(ctx, d, spec)
	if err != nil {
		return drive.Result{}, err
	}
	for _, w := range p.Warnings {
		events <- drive.Event{Kind: drive.StepDone, Note: "warning: " + w}
	}
	return drive.Create(ctx, d, p, events)
}

func driveAttach(ctx context.Context, d drive.Deps, f driveFlags, events chan<- drive.Event) (drive.Result, error) {
	if f.pool == "" || f.name == "" || f.vm == "" {
		return drive.Result{}, fmt.Errorf("attach needs --pool, --name and --vm")
	}
	fb, err := parseFallback(f.fallback)
	if err != nil {
		return drive.Result{}, err
	}
	enc := model.DriveEncryption("")
	if f.encryption == "luks1" || f.encryption == "luks2" {
		enc = model.DriveEncryption(f.encryption)
	}
	p, secret, err := drive.PrepareAttach(ctx, d, drive.AttachSpec{Pool: f.pool, Volume: f.name, VM: f.vm,
		Mode: model.AttachMode{Live: f.live, Persistent: f.persistent}, Encryption: enc, Fallback: fb})
	if err != nil {
		return drive.Result{}, err
	}
	return drive.Attach(ctx, d, p, secret, events)
}

func parseFallback(s string) (model.HotplugFallback, error) {
	switch model.HotplugFallback(s) {
	case model.FallbackNone, model.FallbackNextStart, model.FallbackQEMU:
		return model.HotplugFallback(s), nil
	}
	return "", fmt.Errorf("--hotplug-fallback %q: use next-start or qemu", s)
}

func printEvents(w io.Writer, events <-chan drive.Event) {
	for e := range events {
		switch e.Kind {
		case drive.StepStarted:
			fmt.Fprintf(w, "… %s\n", e.Step.Title)
		case drive.StepProgress:
			// One line per progress report would flood a log; the bar is
			// the console's. Scripts see the start and end of each step.
		case drive.StepRetrying:
			fmt.Fprintf(w, "↻ %s: %s\n", e.Step.Title, e.Note)
		case drive.StepDone:
			if e.Note != "" {
				fmt.Fprintln(w, e.Note)
				continue
			}
			fmt.Fprintf(w, "✓ %s (%s)\n", e.Step.Title, e.Elapsed.Round(time.Millisecond))
		case drive.StepFailed:
			fmt.Fprintf(w, "✗ %s: %v\n", e.Step.Title, e.Err)
		case drive.RollbackStarted:
			fmt.Fprintf(w, "↺ %s\n", e.Note)
		case drive.StepUndone:
			fmt.Fprintf(w, "↺ undone: %s (%s)\n", e.Step.Title, e.Note)
		case drive.UndoKept:
			fmt.Fprintf(w, "↺ kept: %s (%s)\n", e.Step.Title, e.Note)
		case drive.AuditFailed:
			fmt.Fprintf(w, "! %s\n", e.Note)
		case drive.UndoFailed:
			fmt.Fprintf(w, "✗ undo of %s failed: %v; %s\n", e.Step.Title, e.Err, e.Note)
		case drive.Finished:
			fmt.Fprintf(w, "✓ %s\n", e.Note)
		}
	}
}

func printResult(w io.Writer, r drive.Result, asJSON bool) {
	if asJSON {
		_ = json.NewEncoder(w).Encode(r)
		return
	}
	var lines []string
	add := func(k, v string) {
		if v != "" {
			lines = append(lines, fmt.Sprintf("%-8s %s", k+":", v))
		}
	}
	if r.Pool != "" {
		add("volume", r.Pool+"/"+r.Name)
	}
	add("path", r.Path)
	add("key", r.Key)
	add("secret", r.SecretUUID)
	if r.VM != "" {
		add("vm", r.VM)
		add("target", r.Target)
		add("attach", r.Attach)
	}
	for _, n := range r.Notes {
		add("note", n)
	}
	fmt.Fprintln(w, strings.Join(lines, "\n"))
}

// runDriveWizard opens the create-drive wizard alone, as the console does
// from a pool or VM, and prints the result when it closes. Its reads share
// one connection per host from the environment's connector, closed when
// the program ends; a workflow dials its own, as in the console.
func runDriveWizard(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stowage drive wizard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	uri := fs.String("uri", "", "libvirt URI of the host (default: config.yaml's first host, else "+env.DefaultURI+")")
	pool := fs.String("pool", "", "preset pool")
	vm := fs.String("vm", "", "preset VM to attach to")
	theme := fs.String("theme", "", "colour theme (default: $STOWAGE_THEME, config.yaml's theme, else "+env.DefaultTheme+")")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	e, err := env.Load(env.Flags{Theme: *theme, UI: true})
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 2
	}
	defer e.Close()
	host, err := e.Host(*uri)
	if err != nil {
		fmt.Fprintln(stderr, "stowage drive wizard:", err)
		return 2
	}
	acts := driveActions(e, e.Connector.Conn)
	root, err := standalone.Run(acts.CreateDrive(common.DriveTarget{HostURI: host, Pool: *pool, VM: *vm}), e.Keys.Quit)
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 1
	}
	if root.Report != "" {
		fmt.Fprint(stderr, root.Report)
		return 1
	}
	if done, ok := root.Result.(driveprogress.DoneMsg); ok {
		if done.Err != nil {
			fmt.Fprintln(stderr, "stowage drive wizard:", done.Err)
			return 1
		}
		printResult(stdout, done.Result, false)
	}
	return 0
}
