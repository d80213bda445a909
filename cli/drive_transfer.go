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
	"sync"
	"time"

	"stowage/cli/env"
	"stowage/drive"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
)

// The drive's wipe, upload and download verbs. Each parses its own flags,
// refuses under --readonly (audited), dials a connection of its own (a
// cancel or a stall cuts a stream's connection), prints progress lines on
// stderr and the result on stdout.

const driveTransferUsage = `stowage drive wipe|upload|download: overwrite a drive with libvirt's wipe
algorithms, or stream a local file into it or out of it (libvirt streams).

Usage:
  stowage drive wipe     --uri U --pool P --name N [--algorithm zero] --confirm N [--json]
  stowage drive upload   --uri U --pool P --name N --file F --confirm N [--json]
  stowage drive download --uri U --pool P --name N --file F [--json]

Wipe algorithms (libvirt's): ` + "zero, nnsa, dod, bsi, gutmann, schneier, pfitzner7, pfitzner33, random, trim" + `.
rbd pools wipe with zero or trim only; other pools do not trim, and every
algorithm but zero runs the host's scrub program. A wipe has no progress
(libvirt reports none) and, once begun, libvirtd finishes it even if
stowage stops waiting. Wiping an encrypted drive overwrites its LUKS header:
the data is crypto-erased at once and its secret opens nothing (kept, for
you to undefine).
Upload overwrites the drive from its first byte with the file (no larger
than the drive); an encrypted drive is refused (the file would replace its
LUKS container). Download creates --file (never overwrites one); Ctrl+C or
a failure removes the partial file it created, and only that file. An
encrypted drive downloads as its ciphertext. rbd pools have neither in
libvirt 9.0: use rbd import/export (the refusal names the command).
Every drive used by a VM on any connected host is refused: detach it first.
Progress (percent, MiB/s, time left) goes to stderr; the result to stdout.

Flags:
`

type transferFlags struct {
	uri, pool, name, algorithm, file, confirm string
	json, readonly                            bool
	timeout, stall                            time.Duration
}

func transferFlagSet(verb string, f *transferFlags, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("stowage drive "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, driveTransferUsage); fs.PrintDefaults() }
	fs.StringVar(&f.uri, "uri", "", "libvirt URI of the host (default: the config's first host, else qemu:///system)")
	fs.StringVar(&f.pool, "pool", "", "storage pool")
	fs.StringVar(&f.name, "name", "", "volume (drive) name")
	if verb == "wipe" {
		fs.StringVar(&f.algorithm, "algorithm", "zero", "wipe algorithm: "+strings.Join(model.WipeAlgorithms, ", "))
	} else {
		what := "local file to upload"
		if verb == "download" {
			what = "local file to create (must not exist)"
		}
		fs.StringVar(&f.file, "file", "", what)
		fs.DurationVar(&f.stall, "stall", drive.DefaultStall, "give up when no byte moved for this long")
	}
	if verb != "download" {
		fs.StringVar(&f.confirm, "confirm", "", verb+" overwrites the drive: its name again")
	}
	fs.BoolVar(&f.json, "json", false, "print the result as one JSON object")
	fs.BoolVar(&f.readonly, "readonly", false, "read-only: refuse (and audit the refusal)")
	fs.DurationVar(&f.timeout, "timeout", 0, fmt.Sprintf("bound on each libvirt call other than the transfer (default: config.yaml's timeout, else %s)", libvirtx.DefaultTimeout))
	return fs
}

func cmdDriveWipe(args []string, stdout, stderr io.Writer) int {
	return runTransfer("wipe", args, stdout, stderr)
}

func cmdDriveUpload(args []string, stdout, stderr io.Writer) int {
	return runTransfer("upload", args, stdout, stderr)
}

func cmdDriveDownload(args []string, stdout, stderr io.Writer) int {
	return runTransfer("download", args, stdout, stderr)
}

func runTransfer(verb string, args []string, stdout, stderr io.Writer) int {
	var f transferFlags
	fs := transferFlagSet(verb, &f, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "stowage drive %s: %s\n", verb, fmt.Sprintf(format, a...))
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return usage("unexpected argument %q", fs.Arg(0))
	case f.pool == "" || f.name == "":
		return usage("--pool and --name are required")
	case verb != "wipe" && f.file == "":
		return usage("--file is required: the local file to %s", map[string]string{"upload": "upload", "download": "create"}[verb])
	case verb != "wipe" && f.stall <= 0:
		return usage("--stall %s: give a positive duration such as 2m", f.stall)
	}
	if verb == "wipe" {
		if _, err := model.WipeAlgorithm(f.algorithm); err != nil {
			return usage("--algorithm: %v", err)
		}
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
	object := f.pool + "/" + f.name
	fail := func(res drive.TransferResult, err error) int {
		fmt.Fprintf(stderr, "stowage drive %s: %s\n", verb, model.SafeLines(err.Error()))
		if f.json {
			_ = json.NewEncoder(stdout).Encode(struct {
				drive.TransferResult
				Error string `json:"error"`
			}{res, err.Error()})
		}
		return 1
	}
	r := plan.Runner{Host: uri, Audit: e.Audit, Log: e.Log}
	if e.ReadOnly {
		return fail(drive.TransferResult{}, r.Refuse(verb+" volume", object,
			fmt.Errorf("--readonly: %s changes the drive; run without --readonly", verb)))
	}
	if verb != "download" && f.confirm != f.name {
		return fail(drive.TransferResult{}, r.Refuse(verb+" volume", object,
			fmt.Errorf("%s overwrites drive %s: repeat its name with --confirm %s", verb, object, f.name)))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	conn, err := e.OwnDial(ctx, uri)
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 1
	}
	defer conn.Close()
	d := e.DriveDeps(conn, uri, "", "")
	var p drive.PreparedTransfer
	switch verb {
	case "wipe":
		p, err = drive.PrepareWipe(ctx, d, f.pool, f.name, f.algorithm)
	case "upload":
		p, err = drive.PrepareUpload(ctx, d, f.pool, f.name, f.file)
	case "download":
		p, err = drive.PrepareDownload(ctx, d, f.pool, f.name, f.file)
	}
	if err != nil {
		return fail(drive.TransferResult{}, err)
	}
	p.Stall = f.stall
	for _, w := range p.Warnings {
		fmt.Fprintln(stderr, "note:", model.SafeLines(w))
	}
	res, err := runTransferPlan(ctx, d, p, stderr)
	if err != nil {
		return fail(res, err)
	}
	if f.json {
		_ = json.NewEncoder(stdout).Encode(res)
		return 0
	}
	printTransfer(stdout, res)
	return 0
}

// runTransferPlan runs p with its events printed on stderr: the steps as
// every drive verb prints them, plus a progress line (percent, MiB/s, time
// left) at most every 2 s, and a spinner-free "still wiping" line for a
// wipe, which has no progress.
func runTransferPlan(ctx context.Context, d drive.Deps, p drive.PreparedTransfer, stderr io.Writer) (drive.TransferResult, error) {
	events := make(chan drive.Event, 16)
	plain := make(chan drive.Event, 16)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); printEvents(stderr, plain) }()
	go func() {
		defer wg.Done()
		defer close(plain)
		var m model.Meter
		var last time.Duration = -time.Hour
		for e := range events {
			if e.Kind == drive.StepProgress {
				m.Add(model.Sample{Elapsed: e.Elapsed, Done: e.Done})
				if e.Elapsed-last >= 2*time.Second || (e.Total > 0 && e.Done >= e.Total) {
					last = e.Elapsed
					// Through the printer, so it stays in order with the
					// step lines (a StepDone with a Note prints the note).
					plain <- drive.Event{Kind: drive.StepDone, Note: "  " + model.TransferLine(e.Done, e.Total, &m)}
				}
				continue
			}
			plain <- e
		}
	}()
	stopTicks := make(chan struct{})
	if p.Action == "wipe" {
		go func() {
			t := time.NewTicker(10 * time.Second)
			defer t.Stop()
			start := time.Now()
			for {
				select {
				case <-stopTicks:
					return
				case <-t.C:
					fmt.Fprintf(stderr, "  wiping… %s (libvirt reports no progress)\n", model.FormatETA(time.Since(start)))
				}
			}
		}()
	}
	var res drive.TransferResult
	var err error
	switch p.Action {
	case "wipe":
		res, err = drive.Wipe(ctx, d, p, events)
	case "upload":
		res, err = drive.Upload(ctx, d, p, events)
	case "download":
		res, err = drive.Download(ctx, d, p, events)
	}
	close(stopTicks)
	close(events)
	wg.Wait()
	return res, err
}

func printTransfer(w io.Writer, r drive.TransferResult) {
	var lines []string
	add := func(k, v string) {
		if v != "" {
			lines = append(lines, fmt.Sprintf("%-9s %s", k+":", model.SafeText(v)))
		}
	}
	add("volume", r.Pool+"/"+r.Name)
	add("action", r.Action)
	add("algorithm", r.Algorithm)
	add("file", r.File)
	add("bytes", fmt.Sprintf("%d (%s)", r.Bytes, model.IBytes(r.Bytes)))
	add("time", fmt.Sprintf("%.1fs", r.Seconds))
	if r.MiBPerSec > 0 {
		add("speed", model.FormatRate(r.MiBPerSec*(1<<20)))
	}
	add("secret", r.SecretUUID)
	for _, n := range r.Notes {
		add("note", n)
	}
	fmt.Fprintln(w, strings.Join(lines, "\n"))
}
