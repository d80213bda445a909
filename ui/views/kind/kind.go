// Package kind is the contract between the generic list screen and each
// resource kind (hosts, pools, volumes, VMs, secrets): columns, rows from
// the store, drill-down, describe and the actions a selection allows. It
// imports ui/data, ui/table, ui/common and ui/keys; never libvirtx calls
// (only its types through data), never lipgloss.
package kind

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"github.com/dustin/go-humanize"

	"stowage/ui/common"
	"stowage/ui/data"
	"stowage/ui/keys"
	"stowage/ui/table"
)

// Scope narrows a list: one host (Host ≥ 0) or all (-1), one pool or all.
type Scope struct {
	Host int
	Pool string
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
}

// Kind is one resource kind's view.
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
func RowKey(host int, id string) string { return fmt.Sprintf("%d\x00%s", host, id) }

// SplitKey splits a RowKey.
func SplitKey(k string) (int, string) {
	h, id, _ := strings.Cut(k, "\x00")
	var n int
	fmt.Sscanf(h, "%d", &n)
	return n, id
}

// Bytes is a size as admins read it (binary units).
func Bytes(n uint64) string { return humanize.IBytes(n) }

// SortBytes is a sort key for a size.
func SortBytes(n uint64) string { return fmt.Sprintf("%020d", n) }

// Bar draws a usage bar of width w.
func Bar(used, total uint64, w int) string {
	if total == 0 {
		return strings.Repeat("·", w)
	}
	n := int(float64(used) / float64(total) * float64(w))
	if n > w {
		n = w
	}
	return strings.Repeat("█", n) + strings.Repeat("░", w-n) + fmt.Sprintf(" %3d%%", int(float64(used)*100/float64(total)))
}

// YesNo is yes or no.
func YesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Dash is s or "-".
func Dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
