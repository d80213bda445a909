package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"

	"stowage/ceph"
	"stowage/cli/env"
	"stowage/model"
)

// readCeph reads the Ceph clusters behind every host's active rbd pools,
// one connection per host and per cluster, side by side. A cluster that
// cannot be read is a view with its Errors; err is a bad configuration.
func readCeph(hosts []model.HostInfo, timeout time.Duration, readonly bool) ([]model.CephView, error) {
	uris := make([]string, len(hosts))
	for i, h := range hosts {
		uris[i] = h.URI
	}
	e, err := env.Load(env.Flags{URIs: uris, Timeout: timeout, ReadOnly: readonly})
	if err != nil {
		return nil, err
	}
	defer e.Close()
	per := make([][]model.CephView, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			per[i] = hostCeph(context.Background(), e, h)
		}()
	}
	wg.Wait()
	var out []model.CephView
	for _, vs := range per {
		out = append(out, vs...)
	}
	return out, nil
}

// hostCeph reads the clusters behind host h's rbd pools on a connection
// of its own: the same gathering as the console's Ceph view
// (ceph.HostViews).
func hostCeph(ctx context.Context, e *env.Env, h model.HostInfo) []model.CephView {
	c, err := e.OwnDial(ctx, h.URI)
	if err != nil {
		return []model.CephView{{Host: h.URI, Images: []model.CephImage{}, Errors: []string{err.Error()}}}
	}
	defer c.Close()
	return ceph.HostViews(ctx, h, cephAccess(e, c, h.URI), e.Timeout)
}

// printCeph writes one cluster's health and its images as a table, names
// escaped.
func printCeph(w io.Writer, v model.CephView) {
	c := v.Cluster
	fmt.Fprintf(w, "Ceph cluster %s (from %s as %s): %s, %s used of %s\n\n", model.SafeText(c.FSID), model.SafeText(v.Host),
		model.SafeText(v.User), c.Health.Status, humanize.IBytes(c.UsedBytes), humanize.IBytes(c.TotalBytes))
	for _, hc := range c.Health.Checks {
		fmt.Fprintf(w, "  %s %s: %s\n", hc.Severity, hc.Code, model.SafeText(hc.Summary))
	}
	for _, p := range c.Pools {
		fmt.Fprintf(w, "  pool %s: %s stored, %s more fit (%.1f%% used)\n", model.SafeText(p.Name),
			humanize.IBytes(p.StoredBytes), humanize.IBytes(p.MaxAvailBytes), 100*p.PercentUsed)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tSIZE\tUSED\tENCRYPTION\tWATCHERS\tLOCKERS\tSNAPSHOTS\tPARENT\tLIBVIRT POOL\tVMS")
	for _, im := range v.Images {
		var watchers, lockers []string
		for _, wt := range im.Watchers {
			watchers = append(watchers, fmt.Sprintf("client.%d@%s", wt.Client, wt.Host))
		}
		for _, l := range im.Lockers {
			lockers = append(lockers, l.Client+"@"+l.Host)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", model.SafeText(im.Pool+"/"+im.Name),
			humanize.IBytes(im.Size), humanize.IBytes(im.Used), im.Encryption, dash(strings.Join(watchers, ",")),
			dash(strings.Join(lockers, ",")), len(im.Snapshots), dash(model.SafeText(im.Parent)),
			dash(model.SafeText(im.LibvirtPool)), dash(model.SafeText(strings.Join(im.VMs, ","))))
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
