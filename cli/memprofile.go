package cli

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
)

// memProfile is the console's opt-in heap profile (--memprofile): where
// the memory of a large pool goes, read with `go tool pprof`. The file is
// created before the console starts, so a path that cannot be written is
// refused at once rather than after a session.
type memProfile struct{ f *os.File }

func openMemProfile(path string) (*memProfile, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--memprofile: %w (give a file in a writable directory)", err)
	}
	// Every allocation is sampled at the default rate (512 KiB); that is
	// enough to see which structures hold the heap.
	return &memProfile{f: f}, nil
}

// write records the heap as the console quits: in-use (after a GC, what
// was still held) and allocated (everything the session allocated, the
// churn that sets the peak between two collections).
func (p *memProfile) write(stderr io.Writer) {
	if p == nil {
		return
	}
	runtime.GC()
	err := pprof.Lookup("heap").WriteTo(p.f, 0)
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(stderr, "stowage: write --memprofile %s: %v\n", p.f.Name(), err)
	}
}
