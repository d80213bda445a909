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
)

const poolSourcesUsage = `Usage: stowage pool sources --type netfs|logical|iscsi|iscsi-direct|devices
        [--host H | --portal P] [--uri URI] [--timeout D] [--json]

What a pool could be defined on, as the host (--uri, the hypervisor) sees
it, to fill stowage pool define's flags:
  netfs --host H         the NFS exports of server H (--source-path)
  logical                the volume groups the host sees (--source-name)
  iscsi --portal P       the targets at portal P (--iqn), by sendtargets
  iscsi-direct --portal P  the same discovery as iscsi: libvirt's own
                         discovery for iscsi-direct is never called (it
                         crashes libvirtd 9.0); the host needs iscsiadm
  devices                the host's block devices (--source-dev of a new
                         VG, a disk or an fs pool)
Each call is bounded by --timeout; a host without NFS or iscsiadm answers
with a message, not a hang.

Flags:
`

func cmdPoolSources(args []string, stdout, stderr io.Writer) int {
	var uri, typ, host, portal string
	var asJSON bool
	var timeout time.Duration
	fs := flag.NewFlagSet("stowage pool sources", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, poolSourcesUsage); fs.PrintDefaults() }
	fs.StringVar(&uri, "uri", "", "libvirt URI of the host (default: config.yaml's first host, else qemu:///system)")
	fs.StringVar(&typ, "type", "", "netfs, logical, iscsi, iscsi-direct or devices")
	fs.StringVar(&host, "host", "", "netfs: the NFS server")
	fs.StringVar(&portal, "portal", "", "iscsi, iscsi-direct: the portal, host[:port]")
	fs.BoolVar(&asJSON, "json", false, "print one JSON object on stdout")
	fs.DurationVar(&timeout, "timeout", 30*time.Second, "bound on the discovery call")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "stowage pool sources: "+format+"\n", a...)
		return 2
	}
	var p iscsi.Portal
	switch typ {
	case "netfs":
		if host == "" {
			return usage("--type netfs needs --host: the NFS server whose exports to list")
		}
		if err := model.ValidateHost(host); err != nil {
			return usage("--host: %v", err)
		}
	case "iscsi", "iscsi-direct":
		var err error
		if p, err = iscsi.ParsePortal(portal); err != nil {
			return usage("--portal: %v", err)
		}
	case "logical", "devices":
	default:
		return usage("--type %q: use netfs, logical, iscsi, iscsi-direct or devices", typ)
	}
	var uris []string
	if uri != "" {
		uris = []string{uri}
	}
	e, err := env.Load(env.Flags{URIs: uris, Timeout: timeout})
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 2
	}
	defer e.Close()
	ctx := context.Background()
	conn, err := e.Connector.Conn(ctx, e.FirstHost())
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 1
	}
	out := map[string]any{"host": e.FirstHost(), "type": typ}
	var lines []string
	switch typ {
	case "netfs":
		var ex []model.NFSExport
		ex, err = conn.FindNFSExports(ctx, host)
		if err != nil {
			err = explainNFSDiscovery(host, err)
		}
		out["exports"] = nonNil(ex)
		for _, x := range ex {
			lines = append(lines, x.Host+":"+x.Path)
		}
	case "logical":
		var vgs []model.VolumeGroup
		vgs, err = conn.VolumeGroups(ctx)
		out["volume_groups"] = nonNil(vgs)
		for _, vg := range vgs {
			lines = append(lines, fmt.Sprintf("%s\t%v", vg.Name, vg.Devices))
		}
	case "iscsi", "iscsi-direct":
		// Always the iscsi discovery: never find-storage-pool-sources for
		// iscsi-direct (libvirtd 9.0 crashes).
		var ts []model.ISCSITarget
		ts, err = iscsi.Discover(ctx, conn, p)
		out["portal"], out["targets"] = p.String(), nonNil(ts)
		for _, t := range ts {
			lines = append(lines, t.Portal+"\t"+t.IQN)
		}
	case "devices":
		var ds []model.BlockDevice
		ds, err = conn.BlockDevices(ctx)
		out["devices"] = nonNil(ds)
		for _, d := range ds {
			lines = append(lines, fmt.Sprintf("%s\t%s\t%s %s", d.Path, model.IBytes(d.Size), d.Vendor, d.Model))
		}
	}
	if err != nil {
		msg := model.SafeText(err.Error())
		fmt.Fprintln(stderr, "stowage pool sources:", msg)
		if asJSON {
			out["error"] = msg
			printJSON(stdout, stderr, out)
		}
		return 1
	}
	if asJSON {
		return printJSON(stdout, stderr, out)
	}
	if len(lines) == 0 {
		fmt.Fprintln(stdout, "nothing found")
	}
	for _, l := range lines {
		fmt.Fprintln(stdout, model.SafeText(l))
	}
	return 0
}

// explainNFSDiscovery says what a failed export listing means.
func explainNFSDiscovery(host string, err error) error {
	return fmt.Errorf("no NFS exports found at %s (no NFS server answers there, it exports nothing to this host, or the host lacks showmount): %w", host, err)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
