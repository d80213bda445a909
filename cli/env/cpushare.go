package env

import (
	"os"
	"runtime"

	"stowage/libvirtx"
)

// defaultProcs is GOMAXPROCS as the runtime chose it (CPUs, cgroup quota),
// before stowage changed anything.
var defaultProcs = runtime.GOMAXPROCS(0)

// ShareCPUWithLocalDaemon sets GOMAXPROCS to procsFor's choice unless the
// admin set GOMAXPROCS in the environment, and returns the value in force.
func ShareCPUWithLocalDaemon(uris []string, readonly bool) int {
	if os.Getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0)
	}
	n := procsFor(defaultProcs, uris, readonly)
	runtime.GOMAXPROCS(n)
	return n
}

// procsFor is half of base (at least 1) when one of the hosts is served by
// a libvirtd on this machine, else base.
//
// Why: reading a big pool is bound by libvirtd, which serves one pool's
// volume calls under that pool's lock. When stowage may run Go code on
// every CPU, its scheduler's spinning threads and cross-CPU wake-ups take
// the CPU libvirtd needs. Measured on the lab (2 CPUs, 10,000 volumes in a
// dir pool, 15 interleaved rounds of the volume loop): median 0.78 s with
// one P against 0.99 s with two. With two 10,000-volume pools, where
// libvirtd could use both CPUs, one P was no slower (1.85 s against
// 1.99 s, medians of 3). A remote daemon does not compete for these CPUs.
func procsFor(base int, uris []string, readonly bool) int {
	for _, u := range uris {
		t, err := libvirtx.ParseURI(u, readonly)
		if err == nil && t.Local() {
			return max(1, base/2)
		}
	}
	return base
}

// DefaultProcs is GOMAXPROCS as the runtime chose it, before stowage
// changed anything (benchmarks compare against it).
func DefaultProcs() int { return defaultProcs }
