// Package ceph is the Ceph view, four kinds that drill down like the
// libvirt views: the clusters a host's rbd pools point at (health,
// capacity) → a cluster's pools → a pool's images (size, used,
// encryption, watchers, lockers, snapshots, parent, and the libvirt pool
// and VMs using each) → one image in detail. The data is the store's
// Ceph read (data.Store.LoadCeph, asked for when a Ceph list opens, and
// again by the refresh key); the words and cells come from render,
// escaped there. It imports render, ui/data, ui/table, ui/views/kind and
// model types; never libvirtx or ceph.
package ceph

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"stowage/model"
	"stowage/render"
	"stowage/ui/data"
	"stowage/ui/table"
	"stowage/ui/views/kind"
)

// The kinds' names, as the palette and the registry know them.
const (
	ClustersName = "ceph"
	PoolsName    = "ceph-pools"
	ImagesName   = "ceph-images"
	ImageName    = "ceph-image"
)

// Kinds are the Ceph view's kinds, for the registry.
func Kinds() []kind.Kind { return []kind.Kind{Clusters{}, Pools{}, Images{}, Image{}} }

// ClusterKey names one cluster as one host reaches it, stable across
// reads: its fsid and cephx user, or its place when it could not be read.
func ClusterKey(v model.CephView, n int) string {
	if v.Cluster.FSID == "" {
		return fmt.Sprintf("#%d", n)
	}
	return v.Cluster.FSID + "/" + v.User
}

// view is one cluster in scope, with its host and key.
type view struct {
	host int
	key  string
	v    *model.CephView
}

// views are the clusters of the hosts in scope (one cluster if scoped).
func views(c kind.Ctx) []view {
	var out []view
	for _, i := range c.Hosts() {
		vs := c.Store.CephOf(i).Views
		for n := range vs {
			k := ClusterKey(vs[n], n)
			if c.Scope.Cluster != "" && k != c.Scope.Cluster {
				continue
			}
			out = append(out, view{host: i, key: k, v: &vs[n]})
		}
	}
	return out
}

// load asks the store for every host in scope's Ceph (once).
func load(c kind.Ctx) tea.Cmd {
	var cmds []tea.Cmd
	for _, i := range c.Hosts() {
		cmds = append(cmds, c.Store.LoadCeph(i))
	}
	return tea.Batch(cmds...)
}

// state sums up the reads of the hosts in scope.
func state(c kind.Ctx, what string) render.CephState {
	s := render.CephState{Scoped: c.Scope.Host >= 0, What: what}
	for _, i := range c.Hosts() {
		h := c.Store.CephOf(i)
		s.Loading = s.Loading || h.Loading
		s.Loaded = s.Loaded || h.Loaded
		if h.Err != nil && s.Err == nil {
			s.Err = fmt.Errorf("%s: %w", c.HostName(i), h.Err)
		}
	}
	return s
}

// hostTitle is what the screen's title adds for its scope: the host.
func hostTitle(c kind.Ctx) string {
	if c.Scope.Host >= 0 && c.Scope.Host < len(c.Store.Hosts) {
		return c.Store.Hosts[c.Scope.Host].URI
	}
	return ""
}

// libvirtPools are host i's rbd pools over Ceph pool name.
func libvirtPools(c kind.Ctx, i int, name string) []string {
	var out []string
	for _, p := range c.Store.Hosts[i].Info.Pools {
		if p.Type == model.PoolRBD && p.SourceName == name {
			out = append(out, p.Name)
		}
	}
	return out
}

// note is the line under a table: a failed re-read or one under way,
// then the selected row's own text.
func note(c kind.Ctx, what, detail string) string {
	return strings.TrimSpace(render.CephNote(state(c, what)) + "\n" + detail)
}

// Clusters is the Ceph view's top: one row per cluster per host.
type Clusters struct{}

// Name is the palette command.
func (Clusters) Name() string { return ClustersName }

// Title names the screen.
func (Clusters) Title(c kind.Ctx) string { return render.CephTitle("ceph", hostTitle(c)) }

// Load reads the hosts' Ceph when the screen opens.
func (Clusters) Load(c kind.Ctx) tea.Cmd { return load(c) }

// Columns are the clusters table's.
func (Clusters) Columns(c kind.Ctx) []table.Column {
	return kind.Columns(c, render.ClusterColumns(), []table.Column{{Width: 20, Flex: true}, {Width: 14},
		{Width: 11}, {Width: 9, Right: true}, {Width: 9, Right: true}, {Width: 15}, {Width: 5, Right: true},
		{Width: 6, Right: true}, {Width: 20, Flex: true}})
}

// Rows lists the clusters in scope.
func (Clusters) Rows(c kind.Ctx) []table.Row {
	var out []table.Row
	for _, v := range views(c) {
		cl := v.v.Cluster
		sortk := []string{"", "", "", kind.SortBytes(cl.UsedBytes), kind.SortBytes(cl.TotalBytes)}
		out = append(out, kind.Row(c, v.host, v.key, render.ClusterRow(*v.v), sortk))
	}
	return out
}

func findCluster(c kind.Ctx, k string) (view, bool) {
	if k == "" {
		return view{}, false
	}
	h, key := kind.SplitKey(k)
	for _, v := range views(c) {
		if v.host == h && v.key == key {
			return v, true
		}
	}
	return view{}, false
}

// Drill opens the cluster's pools.
func (Clusters) Drill(c kind.Ctx, k string) (string, kind.Scope, bool) {
	v, ok := findCluster(c, k)
	if !ok || v.v.Cluster.FSID == "" {
		return "", kind.Scope{}, false
	}
	return PoolsName, kind.Scope{Host: v.host, Cluster: v.key}, true
}

// Describe: a cluster has no libvirt XML.
func (Clusters) Describe(kind.Ctx, string) (int, data.Object, bool) { return 0, data.Object{}, false }

// Actions: the Ceph view only reads.
func (Clusters) Actions(kind.Ctx, string) []kind.Action { return nil }

// Detail spells out the selected cluster's health checks and errors.
func (Clusters) Detail(c kind.Ctx, k string) string {
	d := ""
	if v, ok := findCluster(c, k); ok {
		d = render.ClusterDetail(*v.v)
	}
	return note(c, "clusters", d)
}

// Empty says why there is no cluster.
func (Clusters) Empty(c kind.Ctx) string { return render.CephEmpty(state(c, "clusters")) }

// Pools is one cluster's pools (every cluster's in scope when unscoped).
type Pools struct{}

// Name is the palette command.
func (Pools) Name() string { return PoolsName }

// Title names the screen.
func (Pools) Title(c kind.Ctx) string {
	what := "ceph pools"
	if vs := views(c); c.Scope.Cluster != "" && len(vs) == 1 {
		what = "pools of " + render.ClusterName(*vs[0].v)
	}
	return render.CephTitle(what, hostTitle(c))
}

// Load reads the hosts' Ceph when the screen opens (once: a drill-down
// reuses the clusters screen's read).
func (Pools) Load(c kind.Ctx) tea.Cmd { return load(c) }

// Columns are the pools table's.
func (Pools) Columns(c kind.Ctx) []table.Column {
	return kind.Columns(c, render.CephPoolColumns(), []table.Column{{Width: 16, Flex: true}, {Width: 9, Right: true},
		{Width: 9, Right: true}, {Width: 9, Right: true}, {Width: 15}, {Width: 8, Right: true}, {Width: 9, Right: true},
		{Width: 14, Flex: true}, {Width: 6, Right: true}})
}

// poolImages counts a pool's images; -1 when they were not read (no
// active libvirt pool of the host uses it, so stowage did not read them).
func poolImages(c kind.Ctx, v view, pool string) int {
	n := 0
	for _, im := range v.v.Images {
		if im.Pool == pool {
			n++
		}
	}
	if n > 0 {
		return n
	}
	for _, p := range c.Store.Hosts[v.host].Info.Pools {
		if p.Type == model.PoolRBD && p.Active && p.SourceName == pool {
			return 0
		}
	}
	return -1
}

// Rows lists the pools in scope.
func (Pools) Rows(c kind.Ctx) []table.Row {
	var out []table.Row
	for _, v := range views(c) {
		for _, p := range v.v.Cluster.Pools {
			sortk := []string{"", kind.SortBytes(p.StoredBytes), kind.SortBytes(p.UsedBytes), kind.SortBytes(p.MaxAvailBytes),
				fmt.Sprintf("%020d", uint64(p.PercentUsed*1e6)), fmt.Sprintf("%020d", p.Objects)}
			row := render.CephPoolRow(p, v.v.Cluster.NearfullRatio, libvirtPools(c, v.host, p.Name), poolImages(c, v, p.Name))
			out = append(out, kind.Row(c, v.host, v.key+"\x00"+p.Name, row, sortk))
		}
	}
	return out
}

// splitPool undoes a pool row's key: the cluster's view and the pool.
func splitPool(c kind.Ctx, k string) (view, string, bool) {
	h, id := kind.SplitKey(k)
	ck, name, ok := strings.Cut(id, "\x00")
	if !ok {
		return view{}, "", false
	}
	v, ok := findCluster(c, kind.RowKey(h, ck))
	return v, name, ok
}

// Drill opens the pool's images, where they were read.
func (Pools) Drill(c kind.Ctx, k string) (string, kind.Scope, bool) {
	v, name, ok := splitPool(c, k)
	if !ok || poolImages(c, v, name) < 0 {
		return "", kind.Scope{}, false
	}
	return ImagesName, kind.Scope{Host: v.host, Cluster: v.key, Pool: name}, true
}

// Describe shows the XML of the libvirt pool over this Ceph pool.
func (Pools) Describe(c kind.Ctx, k string) (int, data.Object, bool) {
	v, name, ok := splitPool(c, k)
	if !ok {
		return 0, data.Object{}, false
	}
	lp := libvirtPools(c, v.host, name)
	if len(lp) == 0 {
		return 0, data.Object{}, false
	}
	return v.host, data.Object{Kind: "pool", Name: lp[0]}, true
}

// Actions: the Ceph view only reads.
func (Pools) Actions(kind.Ctx, string) []kind.Action { return nil }

// Detail is the read's state.
func (Pools) Detail(c kind.Ctx, _ string) string { return note(c, "pools", "") }

// Empty says why there is no pool.
func (Pools) Empty(c kind.Ctx) string { return render.CephEmpty(state(c, "pools")) }

// Images is one Ceph pool's images (all read images when unscoped).
type Images struct{}

// Name is the palette command.
func (Images) Name() string { return ImagesName }

// Title names the screen.
func (Images) Title(c kind.Ctx) string {
	what := "rbd images"
	if c.Scope.Pool != "" {
		what = "images of " + c.Scope.Pool
	}
	return render.CephTitle(what, hostTitle(c))
}

// Load reads the hosts' Ceph when the screen opens (once).
func (Images) Load(c kind.Ctx) tea.Cmd { return load(c) }

// Columns are the images table's.
func (Images) Columns(c kind.Ctx) []table.Column {
	return kind.Columns(c, render.ImageColumns(), []table.Column{{Width: 20, Flex: true}, {Width: 8, Right: true},
		{Width: 8, Right: true}, {Width: 10}, {Width: 14, Flex: true}, {Width: 20, Flex: true}, {Width: 5, Right: true},
		{Width: 8, Flex: true}, {Width: 14, Flex: true}, {Width: 12, Flex: true}})
}

// image is one image in scope.
type image struct {
	view
	im *model.CephImage
}

func images(c kind.Ctx) []image {
	var out []image
	for _, v := range views(c) {
		for n := range v.v.Images {
			im := &v.v.Images[n]
			if (c.Scope.Pool != "" && im.Pool != c.Scope.Pool) || (c.Scope.Image != "" && im.Name != c.Scope.Image) {
				continue
			}
			out = append(out, image{view: v, im: im})
		}
	}
	return out
}

// Rows lists the images in scope.
func (Images) Rows(c kind.Ctx) []table.Row {
	var out []table.Row
	for _, im := range images(c) {
		sortk := []string{"", kind.SortBytes(im.im.Size), kind.SortBytes(im.im.Used)}
		out = append(out, kind.Row(c, im.host, im.key+"\x00"+im.im.Pool+"/"+im.im.Name, render.ImageRow(*im.im), sortk))
	}
	return out
}

func findImage(c kind.Ctx, k string) (image, bool) {
	if k == "" {
		return image{}, false
	}
	for _, im := range images(c) {
		if kind.RowKey(im.host, im.key+"\x00"+im.im.Pool+"/"+im.im.Name) == k {
			return im, true
		}
	}
	return image{}, false
}

// Drill opens the image in detail.
func (Images) Drill(c kind.Ctx, k string) (string, kind.Scope, bool) {
	im, ok := findImage(c, k)
	if !ok {
		return "", kind.Scope{}, false
	}
	return ImageName, kind.Scope{Host: im.host, Cluster: im.key, Pool: im.im.Pool, Image: im.im.Name}, true
}

// describeImage is the libvirt volume the image is, where a libvirt
// pool holds it.
func describeImage(im image) (int, data.Object, bool) {
	if im.im.LibvirtPool == "" {
		return 0, data.Object{}, false
	}
	return im.host, data.Object{Kind: "volume", Pool: im.im.LibvirtPool, Name: im.im.Name}, true
}

// Describe shows the libvirt volume's XML.
func (Images) Describe(c kind.Ctx, k string) (int, data.Object, bool) {
	im, ok := findImage(c, k)
	if !ok {
		return 0, data.Object{}, false
	}
	return describeImage(im)
}

// Actions: the Ceph view only reads.
func (Images) Actions(kind.Ctx, string) []kind.Action { return nil }

// Detail is the read's state and what of the image could not be read.
func (Images) Detail(c kind.Ctx, k string) string {
	d := ""
	if im, ok := findImage(c, k); ok && len(im.im.Errors) > 0 {
		d = model.SafeText("not read: " + strings.Join(im.im.Errors, "; "))
	}
	return note(c, "images", d)
}

// Empty says why there is no image.
func (Images) Empty(c kind.Ctx) string {
	s := state(c, "images")
	if c.Scope.Pool != "" && s.Loaded && c.Scope.Host >= 0 && len(libvirtPools(c, c.Scope.Host, c.Scope.Pool)) == 0 {
		s.Unread = true
	}
	return render.CephEmpty(s)
}

// Image is one image in detail: a row per fact.
type Image struct{}

// Name is the palette command.
func (Image) Name() string { return ImageName }

// Title names the screen.
func (Image) Title(c kind.Ctx) string {
	return render.CephTitle("image "+c.Scope.Pool+"/"+c.Scope.Image, hostTitle(c))
}

// Load reads the hosts' Ceph when the screen opens (once).
func (Image) Load(c kind.Ctx) tea.Cmd { return load(c) }

// Columns are the detail's two.
func (Image) Columns(c kind.Ctx) []table.Column {
	return kind.Columns(c, render.ImageDetailColumns(), []table.Column{{Width: 13}, {Width: 60, Flex: true}})
}

// the image in scope: the first that matches (one, once scoped by a
// drill-down).
func theImage(c kind.Ctx) (image, bool) {
	if c.Scope.Image == "" {
		return image{}, false
	}
	ims := images(c)
	if len(ims) == 0 {
		return image{}, false
	}
	return ims[0], true
}

// Rows spell the image out.
func (Image) Rows(c kind.Ctx) []table.Row {
	im, ok := theImage(c)
	if !ok {
		return nil
	}
	var out []table.Row
	for n, r := range render.ImageDetail(*im.im) {
		// Sorted by their place: the facts read in the order render gives.
		n := fmt.Sprintf("%04d", n)
		out = append(out, kind.Row(c, im.host, n, r, []string{n}))
	}
	return out
}

// Drill: the detail is the bottom.
func (Image) Drill(kind.Ctx, string) (string, kind.Scope, bool) { return "", kind.Scope{}, false }

// Describe shows the libvirt volume's XML.
func (Image) Describe(c kind.Ctx, _ string) (int, data.Object, bool) {
	im, ok := theImage(c)
	if !ok {
		return 0, data.Object{}, false
	}
	return describeImage(im)
}

// Actions: the Ceph view only reads.
func (Image) Actions(kind.Ctx, string) []kind.Action { return nil }

// Detail is the read's state.
func (Image) Detail(c kind.Ctx, _ string) string { return note(c, "images", "") }

// Empty says why the image is not shown.
func (Image) Empty(c kind.Ctx) string {
	s := state(c, "image "+c.Scope.Pool+"/"+c.Scope.Image+" in the last Ceph read")
	if c.Scope.Image == "" {
		return "Open an image from the images of a Ceph pool (Enter on its row)."
	}
	return render.CephEmpty(s)
}
