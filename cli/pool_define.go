package cli

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"stowage/cli/env"
	"stowage/iscsi"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
)

const poolDefineUsage = `Usage: stowage pool define --type T --name N [type flags] [--build]
        [--overwrite --confirm N] [--no-start] [--autostart] [--dry-run]
        [--uri URI] [--timeout D] [--json]

Defines a pool of any type on the host (--uri, else config.yaml's first
host), then builds it where the type needs it, starts it and, with
--autostart, marks it to start with libvirtd. Every field is checked first;
a name the host has, a taken secret usage, a new VG whose name exists or an
existing VG that does not are refused before anything changes.

Types and their flags:
  dir           --target DIR                   a directory (made if missing)
  fs            --target DIR --source-dev DEV [--format F]
                a block device (e.g. a loop device: losetup -f --show IMG)
                mounted on DIR; --build makes a filesystem (F: ext4, xfs, …)
  netfs         --target DIR --source-host HOST --source-path /EXPORT
                [--format nfs|auto]    an NFS export mounted on DIR
  logical       --source-name VG           an existing volume group, or
                --source-name VG --source-dev DEV [--source-dev DEV2 …]
                a NEW volume group on those devices (pvcreate, vgcreate)
  disk          --source-dev DEV [--format gpt|dos|…]  a whole disk, each
                volume a partition; --build writes the label
  rbd           --monitor HOST[:PORT] (repeat) --ceph-pool P --ceph-user U
                (--ceph-keyring FILE | --ceph-secret UUID)
                a Ceph pool; the keyring's key becomes a private secret
  iscsi         --portal HOST[:PORT] --iqn TARGET [--initiator IQN]
                [--chap-user U [--chap-secret-file F]]
                LUNs through the host's kernel initiator (iscsiadm)
  iscsi-direct  --portal HOST[:PORT] --iqn TARGET --initiator IQN
                [--chap-user U [--chap-secret-file F]]
                LUNs through libiscsi (no kernel initiator needed)

Building: dir, fs and netfs make their directory. --build on fs runs mkfs
and on disk writes a partition label, refusing a device that holds data
(libvirt's --no-overwrite); a logical pool with --source-dev always builds
its new VG the same way. --overwrite lets the build destroy what is there
and needs --confirm with the pool's name.

Rollback: when a step fails (a mount of a wrong NFS export, a login the
target refuses) what this run made is undone in reverse, each object by the
UUID its step recorded: a pool, VG or directory that existed before, or a
pool another admin defined meanwhile, is never touched. A label or a
filesystem cannot be taken back; the report says so.

Secrets: the cephx key (from the keyring file) and the CHAP secret (from a
0600 file, else prompted without echo) never appear on the command line,
in the log or in the audit log. Every change and refusal is audited in
$XDG_STATE_HOME/stowage/audit.jsonl. --readonly refuses.

Find what to put in the flags with: stowage pool sources --help.

Examples:
  stowage pool define --type dir --name images --target /var/lib/libvirt/images
  stowage pool define --type netfs --name nfs1 --source-host nas --source-path /exports/vms --target /srv/nfs1
  stowage pool define --type logical --name vms --source-name vg_vms --source-dev /dev/sdb --source-dev /dev/sdc
  stowage pool define --type rbd --name ceph --monitor 10.0.0.1:6789 --ceph-pool rbd --ceph-user libvirt --ceph-keyring /etc/ceph/ceph.client.libvirt.keyring
  stowage pool define --type iscsi-direct --name san --portal 10.0.0.5 --iqn iqn.2026-11.org.example:san1 --initiator iqn.2026-11.org.example:host1

Flags:
`

type poolDefineFlags struct {
	uri, typ, name                    string
	target, srcHost, srcPath, srcVG   string
	format, portal, iqn, initiator    string
	chapUser, chapFile                string
	cephPool, cephUser, cephKeyring   string
	cephSecret, confirm               string
	devs, monitors                    multiFlag
	build, overwrite, noStart         bool
	autostart, dryRun, json, readonly bool
	timeout                           time.Duration
}

func (f *poolDefineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.uri, "uri", "", "libvirt URI of the host (default: config.yaml's first host, else qemu:///system)")
	fs.StringVar(&f.typ, "type", "", "pool type: dir, fs, netfs, logical, disk, rbd, iscsi, iscsi-direct")
	fs.StringVar(&f.name, "name", "", "pool name (a-z A-Z 0-9 + _ . -)")
	fs.StringVar(&f.target, "target", "", "dir, fs, netfs: the directory (mount point)")
	fs.StringVar(&f.srcHost, "source-host", "", "netfs: the NFS server")
	fs.StringVar(&f.srcPath, "source-path", "", "netfs: the export path")
	fs.Var(&f.devs, "source-dev", "fs, disk: the block device; logical: a device of the new VG (repeat)")
	fs.StringVar(&f.srcVG, "source-name", "", "logical: the volume group")
	fs.StringVar(&f.format, "format", "", "fs: filesystem (ext4, xfs, …); netfs: nfs or auto; disk: label (gpt, dos, …)")
	fs.StringVar(&f.portal, "portal", "", "iscsi, iscsi-direct: the target's portal, host[:port]")
	fs.StringVar(&f.iqn, "iqn", "", "iscsi, iscsi-direct: the target's IQN")
	fs.StringVar(&f.initiator, "initiator", "", "iscsi-direct (required), iscsi: the initiator IQN this host logs in as")
	fs.StringVar(&f.chapUser, "chap-user", "", "iscsi, iscsi-direct: CHAP user")
	fs.StringVar(&f.chapFile, "chap-secret-file", "", "file (mode 0600) holding the CHAP secret; else prompted")
	fs.Var(&f.monitors, "monitor", "rbd: a Ceph monitor, host[:port] (repeat)")
	fs.StringVar(&f.cephPool, "ceph-pool", "", "rbd: the Ceph pool")
	fs.StringVar(&f.cephUser, "ceph-user", "", "rbd: the cephx user, without client.")
	fs.StringVar(&f.cephKeyring, "ceph-keyring", "", "rbd: the user's keyring file (its key becomes a private libvirt secret)")
	fs.StringVar(&f.cephSecret, "ceph-secret", "", "rbd: UUID of an existing ceph secret to use instead of --ceph-keyring")
	fs.BoolVar(&f.build, "build", false, "fs: make the filesystem; disk: write the label (both refuse a device that holds data)")
	fs.BoolVar(&f.overwrite, "overwrite", false, "let the build destroy what the device holds (needs --confirm NAME)")
	fs.StringVar(&f.confirm, "confirm", "", "the pool's name, typed to confirm --overwrite")
	fs.BoolVar(&f.noStart, "no-start", false, "define (and build) only; do not start")
	fs.BoolVar(&f.autostart, "autostart", false, "mark the pool to start with libvirtd")
	fs.BoolVar(&f.dryRun, "dry-run", false, "check everything, print the XML and the virsh equivalent; change nothing")
	fs.BoolVar(&f.json, "json", false, "print one JSON object on stdout")
	fs.BoolVar(&f.readonly, "readonly", false, "refused: defining changes the host")
	fs.DurationVar(&f.timeout, "timeout", 3*time.Minute, "bound on each libvirt call (a mount, a login or a vgcreate can take long)")
}

func (f *poolDefineFlags) spec() model.PoolSpec {
	s := model.PoolSpec{Type: f.typ, Name: f.name, Path: f.target, SourceHost: f.srcHost, SourcePath: f.srcPath,
		Devices: f.devs, VG: f.srcVG, Format: f.format, Portal: f.portal, IQN: f.iqn, Initiator: f.initiator,
		CHAPUser: f.chapUser, Monitors: f.monitors, CephPool: f.cephPool, CephUser: f.cephUser,
		CephSecretUUID: f.cephSecret, Build: f.build, Overwrite: f.overwrite, NoStart: f.noStart, Autostart: f.autostart}
	if s.CHAPUser != "" {
		s.CHAPUsage = iscsi.SecretUsage(s.Name)
	}
	if s.Type == "fs" && s.Build && s.Format == "" {
		s.Format = "ext4"
	}
	if s.Type == "disk" && s.Build && s.Format == "" {
		s.Format = "gpt"
	}
	return s
}

// poolDefineResult is --json's object.
type poolDefineResult struct {
	Host      string          `json:"host"`
	Pool      string          `json:"pool"`
	Type      string          `json:"type"`
	DryRun    bool            `json:"dry_run,omitempty"`
	Started   bool            `json:"started"`
	Autostart bool            `json:"autostart"`
	XML       string          `json:"xml"`
	Virsh     []string        `json:"virsh"`
	Error     string          `json:"error,omitempty"`
	Left      []plan.Leftover `json:"left,omitempty"`
	// Removed is what a rollback undid (by the identity its step recorded).
	Removed []string `json:"removed,omitempty"`
}

func cmdPoolDefine(args []string, stdout, stderr io.Writer) int {
	var f poolDefineFlags
	fs := flag.NewFlagSet("stowage pool define", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, poolDefineUsage); fs.PrintDefaults() }
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "stowage pool define: unexpected argument %q\n", fs.Arg(0))
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
	host := e.FirstHost()
	s := f.spec()
	r := plan.Runner{Host: host, Audit: e.Audit, Log: e.Log}
	refuse := func(code int, err error) int {
		err = r.Refuse("define pool", "pool "+s.Name, err)
		fmt.Fprintln(stderr, "stowage pool define:", model.SafeText(err.Error()))
		return code
	}
	if e.ReadOnly {
		return refuse(2, errors.New("--readonly: defining a pool changes the host; run without --readonly"))
	}
	// The input's own rules first (the host's names come in preflight).
	if err := model.ValidateDefine(s, nil); err != nil {
		return refuse(2, flagErrors(err))
	}
	if err := model.ConfirmOverwrite(s, f.confirm); err != nil {
		return refuse(2, err)
	}
	if s.Type == "rbd" && s.CephSecretUUID == "" && f.cephKeyring == "" {
		return refuse(2, errors.New("an rbd pool needs --ceph-keyring FILE (its key becomes a private libvirt secret) or --ceph-secret UUID of an existing ceph secret"))
	}
	ctx := context.Background()
	conn, err := e.Connector.Conn(ctx, host)
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 1
	}
	res := poolDefineResult{Host: host, Pool: s.Name, Type: s.Type, DryRun: f.dryRun, Virsh: model.VirshDefine(s, s.Name+".xml")}
	res.XML, _ = libvirtx.PoolSpecXML(s, "(the new secret's uuid)")
	if f.dryRun {
		if err := conn.PreflightDefine(ctx, s); err != nil {
			return finishDefine(stdout, stderr, f.json, res, refuseOrFail(r, s, err))
		}
		return finishDefine(stdout, stderr, f.json, res, nil)
	}
	secret, err := defineSecret(s, f, stderr)
	if err != nil {
		return refuse(2, err)
	}
	events := make(chan plan.Event, 16)
	printed := make(chan struct{})
	go func() {
		// Tee: the lines on stderr, and what the rollback removed for the
		// result (a failed start reports exactly what was undone).
		tee := make(chan plan.Event)
		go func() { printEvents(stderr, tee); close(printed) }()
		for ev := range events {
			if ev.Kind == plan.StepUndone {
				res.Removed = append(res.Removed, strings.TrimPrefix(ev.Note, "removed "))
			}
			tee <- ev
		}
		close(tee)
	}()
	r.Events = events
	fmt.Fprintf(stderr, "defining %s pool %s on %s\n", s.Type, s.Name, host)
	left, err := conn.DefinePool(ctx, r, s, secret)
	close(events)
	<-printed
	res.Left = left
	if err == nil {
		res.Started, res.Autostart = !s.NoStart, s.Autostart
	}
	return finishDefine(stdout, stderr, f.json, res, err)
}

// flagErrors names each invalid field by its flag, one per line.
func flagErrors(err error) error {
	var msgs []string
	for _, fe := range model.FieldErrors(err) {
		msgs = append(msgs, "--"+fe.Field+": "+fe.Error())
	}
	if len(msgs) == 0 {
		return err
	}
	return errors.New(strings.Join(msgs, "; "))
}

// refuseOrFail audits a preflight refusal (a dry run's too).
func refuseOrFail(r plan.Runner, s model.PoolSpec, err error) error {
	if libvirtx.IsRefusal(err) {
		return r.Refuse("define pool", "pool "+s.Name, err)
	}
	return err
}

func finishDefine(stdout, stderr io.Writer, asJSON bool, res poolDefineResult, err error) int {
	if err != nil {
		res.Error = model.SafeText(err.Error())
		fmt.Fprintln(stderr, "stowage pool define:", res.Error)
	}
	switch {
	case asJSON:
		if code := printJSON(stdout, stderr, res); code != 0 {
			return code
		}
	case err == nil && res.DryRun:
		fmt.Fprintf(stdout, "%s\n# virsh equivalent:\n#   %s\n", res.XML, strings.Join(res.Virsh, "\n#   "))
	case err == nil:
		state := "defined"
		if res.Started {
			state = "defined and started"
		}
		fmt.Fprintf(stdout, "pool %s (%s) %s on %s\n", res.Pool, res.Type, state, res.Host)
	}
	if err != nil {
		return 1
	}
	return 0
}

// defineSecret reads the secret the plan stores: the cephx key (raw,
// from the keyring) or the CHAP secret (file or prompt). Never argv.
func defineSecret(s model.PoolSpec, f poolDefineFlags, stderr io.Writer) ([]byte, error) {
	switch {
	case s.Type == "rbd" && s.CephSecretUUID == "":
		return readCephxKey(f.cephKeyring, s.CephUser)
	case (s.Type == "iscsi" || s.Type == "iscsi-direct") && s.CHAPUser != "":
		sec, err := readCHAPSecret(f.chapFile, s.CHAPUser, stderr)
		if err != nil {
			return nil, err
		}
		if err := (iscsi.CHAP{User: s.CHAPUser, Secret: sec}).Validate(); err != nil {
			clear(sec)
			return nil, err
		}
		return sec, nil
	}
	return nil, nil
}

// readCephxKey reads client.USER's key from a keyring file ("key = …"
// under [client.USER], or a file holding only the base64 key) and
// returns it raw, as libvirt's ceph secret stores it.
func readCephxKey(path, user string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--ceph-keyring: %w", err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	section, lines := "", 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		lines++
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[]")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		bare := !ok && lines == 1 && line != ""
		if bare {
			v = line
		}
		if bare || ok && strings.TrimSpace(k) == "key" && (section == "" || section == "client."+user) {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
			if err != nil {
				return nil, fmt.Errorf("--ceph-keyring %s: the key of client.%s is not base64", path, user)
			}
			return raw, nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--ceph-keyring %s: %w", path, err)
	}
	return nil, fmt.Errorf("--ceph-keyring %s: no key for client.%s (want a [client.%s] section with key = …)", path, user, user)
}
