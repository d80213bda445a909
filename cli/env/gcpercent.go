package env

import (
	"os"
	"runtime/debug"
)

// ConsoleGCPercent is the console's GOGC: the heap may grow to 1.5 times
// what is live between two collections, where Go's default lets it grow
// to twice.
//
// Why: the console is long-lived and holds a host's whole inventory (a
// 10,000-volume pool keeps about 7 MB live); with GOGC=100 its peak RSS
// was 63-64 MB after the console stopped redrawing for polls that change
// nothing, above the 60 MB the project aims for; with 50 it was 57-59 MB
// (bench/console.sh, README "Memory"). The price is about twice as many
// collections, a few per cent of one CPU while a large pool loads, none
// while it sits idle. A GC percentage scales with what is live, so a fleet
// of 100 hosts or a pool of 16,384 volumes stays proportionate; a fixed
// soft memory limit (debug.SetMemoryLimit) was measured too (24 MiB: 56
// MB) and left out: once the live heap nears a fixed limit the collector
// runs back to back, which a large fleet would reach. The commands that
// run and exit (inventory, drive, iscsi) keep Go's default.
const ConsoleGCPercent = 50

// TuneConsoleGC applies ConsoleGCPercent unless the admin set GOGC in the
// environment, and returns the percentage in force.
func TuneConsoleGC() int {
	if v := os.Getenv("GOGC"); v != "" {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	debug.SetGCPercent(ConsoleGCPercent)
	return ConsoleGCPercent
}
