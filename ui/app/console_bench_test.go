package app

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"stowage/model"
	"stowage/themes"
	"stowage/ui/data"
	"stowage/ui/keys"
	"stowage/ui/keys/keytest"
	"stowage/ui/views"
)

// bigPool is the benchmarks' host: the lab's kind of host plus a dir pool
// of n file volumes named and sized as lab/bench-inventory makes them
// (v00001.raw…, 1 MiB sparse files), each volume's strings freshly made
// as a parse of its XML makes them.
const bigPool = "t-bench-console"

// bigHost is the unit tests' fake (Events, Describe, CreatePool and
// TrustHostKey as there) serving one big host.
type bigHost struct {
	fake
	n int
}

func (f *bigHost) URIs() []string { return []string{"qemu:///system"} }

// Stream sends what libvirtx.Stream sends for this host, and like it
// skips a pool's volume XML when KeepVolumes says nothing changed.
func (f *bigHost) Stream(ctx context.Context, _ int, o model.StreamOptions, out chan<- model.Part) error {
	dir := "/var/tmp/" + bigPool
	pools := []model.Pool{
		{Name: "default", Type: model.PoolDir, Active: true, Capacity: 100 << 30, TargetPath: "/var/lib/libvirt/images"},
		{Name: bigPool, Type: model.PoolDir, Active: true, Capacity: 252 << 30, Allocation: 17 << 30, TargetPath: dir},
	}
	out <- model.Part{Kind: model.PartVersions, Lib: "9.0.0", HV: "7.2.0"}
	out <- model.Part{Kind: model.PartPools, Pools: pools}
	out <- model.Part{Kind: model.PartVolumeNames, Pool: "default", Names: []string{}}
	names := make([]string, f.n)
	for i := range names {
		names[i] = fmt.Sprintf("v%05d.raw", i+1)
	}
	out <- model.Part{Kind: model.PartVolumeNames, Pool: bigPool, Names: names}
	if o.KeepVolumes == nil || !o.KeepVolumes(pools[1], names) {
		vols := make([]model.Volume, f.n)
		for i := range vols {
			path := fmt.Sprintf("%s/v%05d.raw", dir, i+1)
			vols[i] = model.Volume{Name: fmt.Sprintf("v%05d.raw", i+1), Pool: bigPool, Key: path,
				Path: fmt.Sprintf("%s/v%05d.raw", dir, i+1), Type: string([]byte("file")), Format: string([]byte("raw")),
				Capacity: 1 << 20}
		}
		out <- model.Part{Kind: model.PartVolumes, Pool: bigPool, Volumes: vols}
	}
	out <- model.Part{Kind: model.PartDomains, Domains: []model.Domain{}}
	out <- model.Part{Kind: model.PartSecrets, Secrets: []model.SecretInfo{}}
	return nil
}
func (f *bigHost) Status(int) model.Status { return model.Status{State: model.StateConnected} }

// openBigPool is the console at 160x45 (the tmux measurement's size) on
// a host of n volumes, loaded, with the big pool's volumes open.
func openBigPool(tb testing.TB, n int) *Model {
	tb.Helper()
	pal, _ := themes.Lookup("dark")
	f := &bigHost{n: n}
	m := New(Deps{Store: data.NewStore(f, time.Second), Keys: keys.Default(), Styles: themes.Build(pal, true),
		Refresh: time.Hour, Kinds: views.Registry(),
		Tick: func(_ time.Duration, fn func(time.Time) tea.Msg) tea.Cmd {
			return func() tea.Msg { return tickArmed{fire: fn} }
		}})
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 45})
	drain(tb, m, m.Init())
	km := keys.Default()
	l := topList(tb, m)
	if !l.Table().Select(l.Table().Rows()[1].Key) {
		tb.Fatal("the big pool's row is not shown")
	}
	_, cmd := m.Update(keytest.Press(km.Enter))
	drain(tb, m, cmd)
	if l := topList(tb, m); l.Kind() != "volumes" || l.Table().Len() != n {
		tb.Fatalf("top screen %s with %d rows, want volumes with %d", l.Kind(), l.Table().Len(), n)
	}
	return m
}

// BenchmarkScroll10k is a frame while an admin scrolls a pool of 10,000
// volumes: the down key's binding pressed through the root model, then
// the root's View timed. It reports the median and the 99th percentile
// of those frames.
func BenchmarkScroll10k(b *testing.B) {
	m := openBigPool(b, 10000)
	km := keys.Default()
	down, top := keytest.Press(km.Down), keytest.Press(km.Top)
	var frames []time.Duration
	for b.Loop() {
		b.StopTimer()
		if topList(b, m).Table().Cursor() == 9999 {
			m.Update(top)
		}
		m.Update(down)
		b.StartTimer()
		start := time.Now()
		_ = m.View()
		frames = append(frames, time.Since(start))
	}
	reportPercentiles(b, frames, "frame")
}

// reportPercentiles reports the median and the 99th percentile of ds in
// microseconds, as name-p50-µs and name-p99-µs.
func reportPercentiles(b *testing.B, ds []time.Duration, name string) {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) float64 { return float64(s[int(q*float64(len(s)-1))].Nanoseconds()) / 1000 }
	b.ReportMetric(at(0.50), name+"-p50-µs")
	b.ReportMetric(at(0.99), name+"-p99-µs")
}

// heapLive is the heap still in use after a full collection.
func heapLive() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkConsoleMemory10k is what the console's memory is made of with
// a pool of 10,000 volumes open: the heap it keeps (live-MB, after a
// collection; the garbage collector lets the heap grow to about twice
// that before it collects), and what one poll of the host allocates
// (B/op, allocs/op: every part applied, linked and redrawn, the volumes'
// details skipped as unchanged). Profile with
//
//	go test -run '^$' -bench ConsoleMemory10k -memprofile mem.out ./ui/app/
func BenchmarkConsoleMemory10k(b *testing.B) {
	before := heapLive()
	m := openBigPool(b, 10000)
	live := heapLive() - before
	b.ReportAllocs()
	for b.Loop() {
		drain(b, m, m.d.Store.Refresh(0, false))
	}
	b.ReportMetric(float64(live)/(1<<20), "live-MB")
	runtime.KeepAlive(m)
}
