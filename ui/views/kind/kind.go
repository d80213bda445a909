// Package kind is the contract between the generic list screen and each
// resource kind (hosts, pools, volumes, VMs, secrets): columns, rows from
// the store, drill-down, describe and the actions a selection allows. The
// words and cells come from render (escaped there); a kind adds the
// layout (widths, sort keys, tones). It imports render, ui/data, ui/table,
// ui/common, ui/keys and bubbletea (a Loader's Cmd); never libvirtx,
// never lipgloss.
package kind

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"stowage/render"
	"stowage/ui/common"
	"stowage/ui/data"
	"stowage/ui/keys"
	"stowage/ui/table"
)

// Scope narrows a list: one host (Host ≥ 0) or all (-1), one pool or all.
// The Ceph views narrow further: one cluster (ceph.ClusterKey), one image.
type Scope struct {
	Host    int
	Pool    string
	Cluster string
	Image   string
}

// All is every host.
var All = Scope{Host: -1}

// Ctx is what a kind sees when it builds rows or actions.
type Ctx struct {
	Store   *data.Store
	Scope   Scope
	Keys    keys.Map
	Actions common.Actions
	// NewPool opens the first-pool form (dir or rbd) on a host; nil under
	// --readonly.
	NewPool func(host int, typ string) common.Component
}

// Action is a key a selection offers and the screen it opens.
type Action struct {
	Binding key.Binding
	Open    func() common.Component
	// Secondary actions are offered (dispatch and `?`) but left out of the
	// one-line footer, so that a selection with many of them (a pool's
	// lifecycle keys) does not push the global hints (`?` help) off it.
	Secondary bool
}

// Kind is one resource kind's view. Every text it returns (Title, the
// rows' cells, Empty, a Detailer's Detail) is escaped for the terminal by
// render, which produces it; the list screen draws it as it is.
type Kind interface {
	// Name is the palette command (pools, volumes…); Title names a scope
	// in the breadcrumbs.
	Name() string
	Title(c Ctx) string
	Columns(c Ctx) []table.Column
	Rows(c Ctx) []table.Row
	// Drill says which kind and scope Enter opens on row key k.
	Drill(c Ctx, k string) (string, Scope, bool)
	// Describe names the object behind row key k.
	Describe(c Ctx, k string) (int, data.Object, bool)
	// Actions are the wizard keys row key k allows (k may be "").
	Actions(c Ctx, k string) []Action
	// Empty is what to say when there are no rows.
	Empty(c Ctx) string
}

// Detailer is a Kind that spells out the selected row under the table:
// cells cut long texts, such as a pool's reason it cannot create drives.
type Detailer interface {
	Detail(c Ctx, k string) string
}

// Bannered is a Kind that shows a line above its table (the hosts
// screen's count of the doctor's findings), with the mark it reads as.
type Bannered interface {
	Banner(c Ctx) (string, render.Mark)
}

// Loader is a Kind whose data the store reads only when asked (the Ceph
// views): the list returns Load's Cmd when it opens.
type Loader interface {
	Load(c Ctx) tea.Cmd
}

// Hosts returns the host indices in scope.
func (c Ctx) Hosts() []int {
	if c.Scope.Host >= 0 {
		if c.Scope.Host < len(c.Store.Hosts) {
			return []int{c.Scope.Host}
		}
		return nil
	}
	out := make([]int, len(c.Store.Hosts))
	for i := range out {
		out[i] = i
	}
	return out
}

// MultiHost reports whether rows need a HOST column.
func (c Ctx) MultiHost() bool { return c.Scope.Host < 0 && len(c.Store.Hosts) > 1 }

// HostName is a short label for host i.
func (c Ctx) HostName(i int) string { return c.Store.Hosts[i].URI }

// RowKey joins a host index and an object id; SplitKey undoes it.
func RowKey(host int, id string) string { return strconv.Itoa(host) + "\x00" + id }

// SplitKey splits a RowKey.
func SplitKey(k string) (int, string) {
	h, id, _ := strings.Cut(k, "\x00")
	var n int
	fmt.Sscanf(h, "%d", &n)
	return n, id
}

// SortBytes is a sort key for a size: its 8 bytes, most significant
// first, so that keys compare as the sizes do. Never shown; a third of
// the 20 digits a padded decimal takes, for every row of a large pool.
func SortBytes(n uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return string(b[:])
}

// Columns pairs render's column titles with the view's layout (Layout),
// and puts a HOST column first when the list spans several hosts.
func Columns(c Ctx, titles []string, layout []table.Column) []table.Column {
	cols := Layout(titles, layout)
	if c.MultiHost() {
		cols = append([]table.Column{{Title: render.HostColumn, Width: 16}}, cols...)
	}
	return cols
}

// Layout gives each of render's column titles the view's width, flex and
// alignment, in order. A layout that does not match its titles is a
// programming error: the view and render disagree on the table.
func Layout(titles []string, layout []table.Column) []table.Column {
	if len(titles) != len(layout) {
		panic(fmt.Sprintf("kind.Layout: %d titles, %d column layouts", len(titles), len(layout)))
	}
	cols := make([]table.Column, len(layout))
	for i, l := range layout {
		l.Title = titles[i]
		cols[i] = l
	}
	return cols
}

// Row is render's row as a table row of host i: the host's URI first when
// the list spans several hosts (sort keys shift with it), and the row's
// mark as its tone.
func Row(c Ctx, i int, key string, r render.Row, sortKeys []string) table.Row {
	if c.MultiHost() {
		r = render.OnHost(c.HostName(i), r)
		if sortKeys != nil {
			sortKeys = append([]string{""}, sortKeys...)
		}
	}
	return table.Row{Key: RowKey(i, key), Cells: r.Cells, Sort: sortKeys, Tone: Tone(r.Mark)}
}

// Tone colours one of render's marks.
func Tone(m render.Mark) table.Tone {
	switch m {
	case render.Idle:
		return table.Muted
	case render.Fine:
		return table.Good
	case render.Attention:
		return table.Warn
	case render.Broken:
		return table.Bad
	}
	return table.Normal
}
