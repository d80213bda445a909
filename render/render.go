// Package render owns the words and cells stowage shows for hosts, pools,
// volumes, VMs and secrets: labels ("yes, once started", "MISSING"),
// column titles, the cells of each row and the texts around a table
// (titles, details, empty messages), for the console's tables and for
// `stowage inventory`'s alike, so the two cannot disagree. Sizes are
// binary units through go-humanize on screen, exact bytes in the CLI.
//
// Every cell and text it returns is escaped for a terminal here
// (model.SafeText), and only here: names come from libvirt and Ceph as
// they are, and the callers draw what they get.
//
// It imports model, go-humanize and the standard library only; never ui,
// themes, lipgloss, bubbletea or libvirtx. Colours and widths are the
// console's business (ui/views); a row only says how it reads (Mark).
package render

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"

	"stowage/model"
)

// Mark says how a row reads at a glance; the console picks its colour.
type Mark int

// Marks, from nothing to say to broken.
const (
	Plain Mark = iota
	// Idle: an inactive pool, a VM that is not running, a host still
	// connecting.
	Idle
	// Fine: a connected host with nothing to report.
	Fine
	// Attention: worth a look (a degraded host, a secret without a value,
	// an orphaned secret).
	Attention
	// Broken: a disconnected host, an encrypted volume whose secret is gone.
	Broken
)

// Row is one object's cells, escaped, in its table's column order.
type Row struct {
	Cells []string
	Mark  Mark
}

// HostColumn is the title of the column that names the host, first in a
// table over several hosts.
const HostColumn = "HOST"

// OnHost puts the host's URI in front of a row, under HostColumn.
func OnHost(uri string, r Row) Row {
	r.Cells = append([]string{model.SafeText(uri)}, r.Cells...)
	return r
}

// cells escapes every cell: the one place table cells are made safe.
func cells(cs ...string) []string {
	for i, c := range cs {
		cs[i] = model.SafeText(c)
	}
	return cs
}

// size is a size as admins read it on screen (binary units).
func size(n uint64) string { return humanize.IBytes(n) }

// exact is a size in bytes, as the CLI's tables print it.
func exact(n uint64) string { return strconv.FormatUint(n, 10) }

// bar draws a usage bar of width w and the percentage.
func bar(used, total uint64, w int) string {
	if total == 0 {
		return strings.Repeat("·", w)
	}
	n := int(float64(used) / float64(total) * float64(w))
	if n > w {
		n = w
	}
	return strings.Repeat("█", n) + strings.Repeat("░", w-n) + fmt.Sprintf(" %3d%%", int(float64(used)*100/float64(total)))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// dash is s, or "-" for nothing.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
