package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/charmbracelet/x/term"

	"stowage/cli/env"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/render"
)

const inventoryUsage = `Usage: stowage inventory [--uri URI]... [--json] [--ceph] [--readonly] [--timeout D]

Prints every host's pools (with can_create_volumes and create_reason),
volumes (encryption, secret state, attached_to), domains and secrets: the
same data as the console, in its words ("yes, once started", "MISSING").
Hosts come from --uri, else config.yaml, else qemu:///system. Sizes are
bytes, in the tables as in JSON; JSON is indented on a terminal and
compact when piped. In the tables, control characters in names and
messages (an escape sequence in a volume name, say) are shown escaped
(\x1b, \u009b); JSON keeps the names exact, escaped as JSON does.
With --ceph it also reads every Ceph cluster the hosts' rbd pools point at
(as each pool's cephx user, found as the drive commands find it): health,
capacity, pools, and each image's size, used bytes, encryption (luks1,
luks2 or none, read from its header), features, watchers and their hosts,
lockers, snapshots and parent, with the libvirt pool and the VMs that use
it: JSON "ceph": [{host, user, cluster, images[], errors}].
Exit status 1 when a host or cluster could not be read (reasons on stderr;
the others are still printed), 2 on bad usage.

`

// inventoryDoc is the JSON document: hosts[] → pools[] → volumes[], plus
// domains[] and secrets[] per host.
type inventoryDoc struct {
	Hosts []model.HostInfo `json:"hosts"`
	Ceph  []model.CephView `json:"ceph,omitempty"`
}

func cmdInventory(args []string, stdout, stderr io.Writer) int {
	var uris uriList
	var asJSON, readonly, withCeph bool
	var timeout time.Duration
	fs := flag.NewFlagSet("stowage inventory", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&uris, "uri", "libvirt URI of a host (repeatable)")
	fs.BoolVar(&asJSON, "json", false, "print JSON instead of tables")
	fs.BoolVar(&readonly, "readonly", false, "use the read-only socket")
	fs.BoolVar(&withCeph, "ceph", false, "also read the Ceph clusters the rbd pools point at (images, watchers, lockers, encryption)")
	fs.DurationVar(&timeout, "timeout", libvirtx.DefaultTimeout, "bound on each libvirt call")
	fs.Usage = func() {
		fmt.Fprint(stderr, inventoryUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "stowage inventory: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if len(uris) == 0 {
		cfg, err := env.LoadConfig(env.ConfigPath())
		if err != nil {
			fmt.Fprintln(stderr, "stowage inventory:", err)
			return 2
		}
		for _, h := range cfg.Hosts {
			uris = append(uris, h.URI)
		}
		if len(uris) == 0 {
			uris = uriList{"qemu:///system"}
		}
	}
	for _, u := range uris {
		if _, err := libvirtx.ParseURI(u, readonly); err != nil {
			fmt.Fprintln(stderr, "stowage inventory: --uri:", err)
			return 2
		}
	}
	env.ShareCPUWithLocalDaemon(uris, readonly)
	// A one-shot batch whose live heap stays small (10,000 volumes are a
	// few MiB): collect less often, and leave the CPU to the XML reading
	// (measured: GC was about a tenth of the command's CPU).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	hosts, errs := readInventory(uris, libvirtx.Options{Timeout: timeout, ReadOnly: readonly, SSHConfig: libvirtx.NewSSHConfigCache()})
	var doc inventoryDoc
	rc := 0
	for i, h := range hosts {
		if errs[i] != nil {
			fmt.Fprintf(stderr, "stowage inventory: %s: %s\n", model.SafeText(uris[i]), model.SafeText(errs[i].Error()))
			rc = 1
			continue
		}
		for _, e := range h.Errors {
			fmt.Fprintf(stderr, "stowage inventory: %s: %s\n", model.SafeText(uris[i]), model.SafeText(fmt.Sprint(e)))
			rc = 1
		}
		doc.Hosts = append(doc.Hosts, h)
	}
	if doc.Hosts == nil {
		doc.Hosts = []model.HostInfo{}
	}
	if withCeph {
		views, err := readCeph(doc.Hosts, timeout, readonly)
		for _, v := range views {
			for _, e := range v.Errors {
				fmt.Fprintf(stderr, "stowage inventory: ceph for %s: %s\n", model.SafeText(v.Host), model.SafeText(e))
				rc = 1
			}
		}
		if err != nil {
			fmt.Fprintln(stderr, "stowage inventory:", err)
			return 2
		}
		doc.Ceph = views
		if doc.Ceph == nil {
			doc.Ceph = []model.CephView{}
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		// Indented for a person at a terminal, compact for a program
		// (as gh does): indenting was two thirds of the encoding's CPU
		// for 10,000 volumes, and jq re-indents anyway.
		if isTerminal(stdout) {
			enc.SetIndent("", "  ")
		}
		if err := enc.Encode(doc); err != nil {
			fmt.Fprintln(stderr, "stowage inventory:", err)
			return 1
		}
		return rc
	}
	for _, h := range doc.Hosts {
		printHost(stdout, h)
	}
	for _, v := range doc.Ceph {
		printCeph(stdout, v)
	}
	return rc
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

// readInventory reads every host at once; one connection each.
func readInventory(uris []string, o libvirtx.Options) ([]model.HostInfo, []error) {
	hosts := make([]model.HostInfo, len(uris))
	errs := make([]error, len(uris))
	var wg sync.WaitGroup
	for i, u := range uris {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			c, err := libvirtx.Dial(ctx, u, o)
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			hosts[i] = c.Inventory(ctx)
		}()
	}
	wg.Wait()
	return hosts, errs
}

// printHost writes a host's heading and tables, in render's words and
// cells (escaped there: names come from libvirt and Ceph, and a control
// character in one must neither reach the terminal nor break the columns).
func printHost(w io.Writer, h model.HostInfo) {
	heading, tables := render.Inventory(h)
	fmt.Fprintf(w, "%s\n\n", heading)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, t := range tables {
		fmt.Fprintln(tw, strings.Join(t.Columns, "\t"))
		for _, r := range t.Rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
}
