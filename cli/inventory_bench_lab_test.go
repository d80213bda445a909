package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"stowage/cli/env"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
)

// benchPool makes a dir pool of n sparse 1 MiB files on the lab's libvirtd
// and removes it (and its files) when the benchmark ends. With
// STOWAGE_BENCH_POOL set (bench/console.sh), it uses that pool, which the
// caller made and removes, and checks that it holds n volumes.
func benchPool(b *testing.B, n int) (uri, pool string) {
	b.Helper()
	env := lab.Need(b)
	if pool := os.Getenv("STOWAGE_BENCH_POOL"); pool != "" {
		c, err := libvirtx.Dial(context.Background(), env.URI, libvirtx.Options{Timeout: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		names, err := c.VolumeNames(context.Background(), pool)
		if err != nil || len(names) != n {
			b.Fatalf("STOWAGE_BENCH_POOL=%s: %d volumes (%v), want %d", pool, len(names), err, n)
		}
		return env.URI, pool
	}
	dir, err := os.MkdirTemp("/var/tmp", "t-bench-browse-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	for i := range n {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("v%05d.raw", i)))
		if err == nil {
			err = f.Truncate(1 << 20)
			f.Close()
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	pool = fmt.Sprintf("t-bench-browse-%d", time.Now().UnixNano())
	ctx := context.Background()
	c, err := libvirtx.Dial(ctx, env.URI, libvirtx.Options{Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CreatePool(ctx, plan.Runner{}, model.PoolSpec{Name: pool, Type: "dir", Path: dir}, nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		c, err := libvirtx.Dial(context.Background(), env.URI, libvirtx.Options{Timeout: time.Minute})
		if err != nil {
			b.Errorf("clean up pool %s: %v", pool, err)
			return
		}
		defer c.Close()
		if err := c.DeletePool(context.Background(), pool); err != nil {
			b.Errorf("clean up pool %s: %v", pool, err)
		}
	})
	return env.URI, pool
}

// BenchmarkInventoryJSON10k is `stowage inventory --json` on the lab host
// with an extra pool of 10,000 volumes (dial, read, encode). Each iteration
// runs it twice, in turn, so that a noisy machine weighs on both alike:
// "shared" as the command runs (GOMAXPROCS halved for a local libvirtd,
// see env.ShareCPUWithLocalDaemon) and its peer "all-cpus" (GOMAXPROCS set in the
// environment, so the runtime's choice stays). It reports each one's
// median and their ratio. Profile with
//
//	STOWAGE_LAB=require go test -run '^$' -bench InventoryJSON10k -benchtime 5x -cpuprofile cpu.out .
func BenchmarkInventoryJSON10k(b *testing.B) {
	uri, _ := benchPool(b, 10000)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	run := func(env string) time.Duration {
		b.Setenv("GOMAXPROCS", env)
		runtime.GOMAXPROCS(defaultProcs)
		start := time.Now()
		if rc := cmdInventory([]string{"--json", "--uri", uri}, io.Discard, io.Discard); rc != 0 {
			b.Fatalf("inventory rc %d", rc)
		}
		return time.Since(start)
	}
	var shared, all []time.Duration
	for b.Loop() {
		shared = append(shared, run(""))
		all = append(all, run(strconv.Itoa(defaultProcs)))
	}
	ms, ma := median(shared), median(all)
	b.ReportMetric(ms.Seconds()*1000, "shared-ms")
	b.ReportMetric(ma.Seconds()*1000, "all-cpus-ms")
	b.ReportMetric(ma.Seconds()/ms.Seconds(), "all/shared")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkFirstRows10k is the time from a finished dial to the first
// volume rows of a 10,000-volume pool: the moment its volume-names part
// is applied to the host (the console draws those rows from it; sizes
// follow from the XML calls still in flight). Each iteration dials anew
// (untimed) and reads the whole host; it reports the median and the worst.
func BenchmarkFirstRows10k(b *testing.B) {
	uri, pool := benchPool(b, 10000)
	var worst time.Duration
	var all []time.Duration
	for b.Loop() {
		b.StopTimer()
		c, err := libvirtx.Dial(context.Background(), uri, libvirtx.Options{Timeout: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		parts := make(chan model.Part, 64)
		done := make(chan struct{})
		b.StartTimer()
		start := time.Now()
		go func() {
			c.Stream(ctx, model.StreamOptions{}, parts)
			close(done)
		}()
		h := model.HostInfo{}
		rows := 0
		for rows == 0 {
			p := <-parts
			h.Apply(p)
			if p.Kind == model.PartVolumeNames && p.Pool == pool {
				if p.Err != nil {
					b.Fatal(p.Err)
				}
				h.Link()
				for _, pi := range h.Pools {
					if pi.Name == pool {
						rows = len(pi.Volumes)
					}
				}
			}
		}
		took := time.Since(start)
		b.StopTimer()
		worst = max(worst, took)
		all = append(all, took)
		if rows != 10000 {
			b.Fatalf("%d rows, want 10000", rows)
		}
		cancel()
		go func() {
			for range parts {
			}
		}()
		<-done
		close(parts)
		c.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(median(all).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}

// defaultProcs is GOMAXPROCS as the runtime chose it (see env.DefaultProcs).
var defaultProcs = env.DefaultProcs()
