package render

import (
	"fmt"
	"strconv"
	"strings"

	"stowage/model"
)

// The Ceph view's words and cells: the clusters a host's rbd pools point
// at, their pools, the images of those pools and one image in detail,
// with the libvirt side alongside (model.CephView).

// CephTitle names a Ceph screen: what ("ceph", "images of rbd"), on one
// host (its URI) or on all (uri "").
func CephTitle(what, uri string) string {
	if uri == "" {
		return model.SafeText(what)
	}
	return model.SafeText(what + " on " + uri)
}

// ClusterColumns are the clusters table's.
func ClusterColumns() []string {
	return []string{"CLUSTER", "AS", "HEALTH", "USED", "TOTAL", "USAGE", "POOLS", "IMAGES", "PROBLEMS"}
}

// ClusterName is how a cluster is named on screen: its fsid, or what
// could not be read.
func ClusterName(v model.CephView) string {
	if v.Cluster.FSID != "" {
		return model.SafeText(v.Cluster.FSID)
	}
	return "(not read)"
}

// ClusterRow is one cluster as a host reaches it. A cluster whose health
// is not OK, or part of which could not be read, says so in its mark.
func ClusterRow(v model.CephView) Row {
	c := v.Cluster
	mark := healthMark(c.Health.Status)
	if len(v.Errors) > 0 && mark < Attention {
		mark = Attention
	}
	if c.FSID == "" {
		mark = Broken
	}
	return Row{Mark: mark, Cells: cells(ClusterName(v), dash(v.User), dash(c.Health.Status), size(c.UsedBytes),
		size(c.TotalBytes), bar(c.UsedBytes, c.TotalBytes, 10), strconv.Itoa(len(c.Pools)), strconv.Itoa(len(v.Images)),
		dash(problems(v)))}
}

// problems is a cluster's failing health checks' codes and the count of
// what could not be read.
func problems(v model.CephView) string {
	var ps []string
	for _, hc := range v.Cluster.Health.Checks {
		ps = append(ps, hc.Code)
	}
	if n := len(v.Errors); n == 1 {
		ps = append(ps, "1 read failed")
	} else if n > 1 {
		ps = append(ps, fmt.Sprintf("%d reads failed", n))
	}
	return strings.Join(ps, ", ")
}

// ClusterDetail spells out a cluster's health checks and read errors, for
// the lines under the table.
func ClusterDetail(v model.CephView) string {
	parts := []string{fmt.Sprintf("%s as %s: %s", ClusterName(v), dash(v.User), dash(v.Cluster.Health.Status))}
	for _, hc := range v.Cluster.Health.Checks {
		parts = append(parts, hc.Code+": "+hc.Summary)
	}
	for _, e := range v.Errors {
		parts = append(parts, "not read: "+e)
	}
	return model.SafeText(strings.Join(parts, ". "))
}

func healthMark(status string) Mark {
	switch status {
	case "HEALTH_OK":
		return Fine
	case "HEALTH_WARN":
		return Attention
	case "HEALTH_ERR":
		return Broken
	}
	return Plain
}

// CephPoolColumns are a cluster's pools table's.
func CephPoolColumns() []string {
	return []string{"POOL", "STORED", "USED", "MAX AVAIL", "USAGE", "OBJECTS", "QUOTA", "LIBVIRT POOL", "IMAGES"}
}

// CephPoolRow is one Ceph pool of a cluster. libvirtPools are the host's
// rbd pools over it; images is how many of its images were read, -1 when
// none were (stowage reads the images of the pools the host uses only).
// A pool at or past the cluster's nearfull ratio reads as attention.
func CephPoolRow(p model.CephPool, nearfull float64, libvirtPools []string, images int) Row {
	mark := Plain
	if len(libvirtPools) == 0 {
		mark = Idle
	}
	if nearfull > 0 && p.PercentUsed >= nearfull {
		mark = Attention
	}
	quota := "-"
	if p.QuotaMaxBytes > 0 {
		quota = size(p.QuotaMaxBytes)
	}
	n := "-"
	if images >= 0 {
		n = strconv.Itoa(images)
	}
	return Row{Mark: mark, Cells: cells(p.Name, size(p.StoredBytes), size(p.UsedBytes), size(p.MaxAvailBytes),
		percentBar(p.PercentUsed, 10), strconv.FormatUint(p.Objects, 10), quota, dash(strings.Join(libvirtPools, ", ")), n)}
}

// percentBar is bar for a fraction (Ceph's own percent_used).
func percentBar(f float64, w int) string {
	return bar(uint64(f*1e6), 1e6, w)
}

// ImageColumns are the images table's.
func ImageColumns() []string {
	return []string{"IMAGE", "SIZE", "USED", "ENCRYPTION", "WATCHERS", "LOCKERS", "SNAPS", "PARENT", "LIBVIRT POOL", "VMS"}
}

// ImageRow is one RBD image with the libvirt side. An image that could
// not be read whole is broken; one locked while nobody watches it (the
// holder may be gone: a stale lock keeps a VM from starting) needs
// attention.
func ImageRow(im model.CephImage) Row {
	mark := Plain
	if len(im.Lockers) > 0 && len(im.Watchers) == 0 {
		mark = Attention
	}
	if len(im.Errors) > 0 {
		mark = Broken
	}
	return Row{Mark: mark, Cells: cells(im.Pool+"/"+im.Name, size(im.Size), size(im.Used), dash(im.Encryption),
		dash(strings.Join(watchers(im.Watchers), ", ")), dash(strings.Join(lockers(im.Lockers), ", ")),
		strconv.Itoa(len(im.Snapshots)), dash(im.Parent), dash(im.LibvirtPool), dash(strings.Join(im.VMs, ", ")))}
}

func watchers(ws []model.RBDWatcher) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		out = append(out, fmt.Sprintf("client.%d@%s", w.Client, w.Host))
	}
	return out
}

func lockers(ls []model.RBDLocker) []string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		s := l.Client + "@" + l.Host
		if l.Exclusive {
			s += " (exclusive)"
		}
		out = append(out, s)
	}
	return out
}

// ImageDetailColumns are the image detail's two columns.
func ImageDetailColumns() []string { return []string{"WHAT", "VALUE"} }

// ImageDetail is one image spelled out, a row per fact: one per watcher,
// locker, snapshot and error, so none is cut off in a cell.
func ImageDetail(im model.CephImage) []Row {
	var out []Row
	add := func(mark Mark, what, value string) {
		out = append(out, Row{Mark: mark, Cells: cells(what, value)})
	}
	add(Plain, "image", im.Pool+"/"+im.Name)
	add(Plain, "id", dash(im.ID))
	add(Plain, "size", fmt.Sprintf("%s (%d bytes)", size(im.Size), im.Size))
	used := size(im.Used)
	if im.UsedMethod != "" {
		used += " (" + im.UsedMethod + ")"
	}
	add(Plain, "used", used)
	add(Plain, "encryption", dash(im.Encryption))
	add(Plain, "features", dash(strings.Join(im.Features, ", ")))
	add(Plain, "parent", dash(im.Parent))
	add(Plain, "libvirt pool", dash(im.LibvirtPool))
	add(Plain, "VMs", dash(strings.Join(im.VMs, ", ")))
	if len(im.Watchers) == 0 {
		add(Plain, "watchers", "none: no client has the image open")
	}
	for _, w := range im.Watchers {
		add(Plain, "watcher", fmt.Sprintf("client.%d at %s (host %s, cookie %d)", w.Client, w.Address, w.Host, w.Cookie))
	}
	if len(im.Lockers) == 0 {
		add(Plain, "lockers", "none")
	}
	for _, l := range im.Lockers {
		mark, note := Plain, ""
		if len(im.Watchers) == 0 {
			mark, note = Attention, "; nobody watches the image: the holder may be gone (`stowage doctor` checks)"
		}
		kind := "shared"
		if l.Exclusive {
			kind = "exclusive"
		}
		add(mark, "locker", fmt.Sprintf("%s at %s (host %s, cookie %q, %s)%s", l.Client, l.Address, l.Host, l.Cookie, kind, note))
	}
	if len(im.Snapshots) == 0 {
		add(Plain, "snapshots", "none")
	}
	for _, s := range im.Snapshots {
		add(Plain, "snapshot", fmt.Sprintf("%s (id %d, %s)", s.Name, s.ID, size(s.Size)))
	}
	for _, e := range im.Errors {
		add(Broken, "not read", e)
	}
	return out
}

// CephState is what a Ceph screen knows of its hosts' reads, for its
// empty message and the line under its table.
type CephState struct {
	// Scoped: one host; Loading: a read is under way; Loaded: one ended
	// well; Err: the last read's error; Unread: the pool's images were
	// not read (not a pool the host uses); What: "clusters", "pools", ….
	Scoped, Loading, Loaded, Unread bool
	Err                             error
	What                            string
}

// CephEmpty is what a Ceph screen says when it has no rows.
func CephEmpty(s CephState) string {
	switch {
	case s.Err != nil:
		return "Cannot read Ceph: " + model.SafeLines(s.Err.Error())
	case s.Loading && !s.Loaded:
		return "Reading Ceph…"
	case s.Unread:
		return "stowage reads the images of the Ceph pools this host's rbd pools use; no libvirt pool uses this one."
	case s.What == "clusters" && s.Scoped:
		return "No active rbd pool on this host points at a Ceph cluster."
	case s.What == "clusters":
		return "No active rbd pool on any host points at a Ceph cluster."
	}
	return "No " + model.SafeText(s.What) + "."
}

// CephNote is the line under a Ceph table: a failed re-read (the rows are
// the last read's), or a read under way.
func CephNote(s CephState) string {
	switch {
	case s.Err != nil:
		return "Last Ceph read failed, showing the one before: " + model.SafeText(s.Err.Error())
	case s.Loading:
		return "Reading Ceph…"
	}
	return ""
}
