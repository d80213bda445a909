package benchenc

import (
	"math"
	"strings"
	"testing"
)

func TestFormatPercentLikeTheSeed(t *testing.T) {
	for _, c := range []struct {
		p    float64
		want string
	}{{-43.0, "-43%"}, {-0.57, "-0.6%"}, {-12.4, "-12%"}, {-2.4, "-2.4%"}, {3.2, "+3.2%"}, {185, "+185%"}, {0.01, "±0%"}, {math.NaN(), "n/a"}} {
		if got := FormatPercent(c.p); got != c.want {
			t.Errorf("FormatPercent(%v) = %q, want %q", c.p, got, c.want)
		}
	}
}

func TestFormatFigure(t *testing.T) {
	for _, c := range []struct {
		v    float64
		iops bool
		want string
	}{{349.2, false, "349 MiB/s"}, {64.72, false, "64.7 MiB/s"}, {19100, true, "19.1k IOPS"}, {850, true, "850 IOPS"}} {
		if got := FormatFigure(c.v, c.iops); got != c.want {
			t.Errorf("FormatFigure(%v, %v) = %q, want %q", c.v, c.iops, got, c.want)
		}
	}
}

func TestMedianAndPercent(t *testing.T) {
	if m := Median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median of 3 = %v", m)
	}
	xs := []float64{4, 1, 3, 2}
	if m := Median(xs); m != 2.5 {
		t.Errorf("median of 4 = %v", m)
	}
	if xs[0] != 4 {
		t.Error("Median sorted its argument")
	}
	if Median(nil) != 0 {
		t.Error("median of nothing is not 0")
	}
	if p := PercentVs(199, 349); math.Abs(p-(-42.98)) > 0.01 {
		t.Errorf("PercentVs(199, 349) = %v", p)
	}
	if !math.IsNaN(PercentVs(1, 0)) {
		t.Error("PercentVs against zero is not NaN")
	}
}

func TestSizeAndRunsChecks(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"1M", "at least 16.0 MiB"},
		{"100G", "at most 64.0 GiB"},
		{"20000000", "whole number of MiB"},
		{"-5M", "negative"},
		{"lots", "size"},
	} {
		_, err := ParseSize(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseSize(%q) = %v, want an error saying %q", c.in, err, c.want)
		}
	}
	if n, err := ParseSize("64M"); err != nil || n != 64*mib {
		t.Errorf("ParseSize(64M) = %d, %v", n, err)
	}
	for _, n := range []int{0, -1, 101} {
		if err := CheckRuns(n); err == nil || !strings.Contains(err.Error(), "from 1 to 100") {
			t.Errorf("CheckRuns(%d) = %v", n, err)
		}
	}
	if CheckRuns(1) != nil {
		t.Error("one run refused")
	}
}

func TestParseBench(t *testing.T) {
	d, err := ParseBench([]byte("Sending 64 write requests, 1048576 bytes each, 8 in parallel\nRun completed in 0.432 seconds.\n"))
	if err != nil || d.Seconds() != 0.432 {
		t.Errorf("ParseBench = %v, %v", d, err)
	}
	if _, err := ParseBench([]byte("Run completed in 0.000 seconds.")); err == nil || !strings.Contains(err.Error(), "larger --size") {
		t.Errorf("a zero run: %v", err)
	}
	if _, err := ParseBench([]byte("qemu-img: oops")); err == nil {
		t.Error("no timing line accepted")
	}
}

// The stride is a prime number of blocks coprime with the block count, so
// the offsets of one pass are distinct and aligned.
func TestStrideVisitsDistinctAlignedBlocks(t *testing.T) {
	for _, size := range []uint64{16 * mib, 7919 * 4096 * 2, 100 * mib} {
		s := stride(size, 4096)
		if s%4096 != 0 {
			t.Fatalf("stride %d not 4 KiB aligned", s)
		}
		blocks := size / 4096
		seen := map[uint64]bool{}
		off := uint64(0)
		for range blocks {
			if seen[off] {
				t.Fatalf("size %d: offset %d visited twice", size, off)
			}
			seen[off] = true
			off = (off + s) % size
		}
	}
}

func TestBenchArgs(t *testing.T) {
	o := Options{Size: 64 * mib, RandomOps: 1000}
	got := strings.Join(benchArgs("/d/nbd.sock", Workloads[1], o), " ")
	want := "bench --image-opts -c 64 -d 8 -s 1048576 -w driver=nbd,server.type=unix,server.path=/d/nbd.sock,export=bench"
	if got != want {
		t.Errorf("seq write QD8:\n got %s\nwant %s", got, want)
	}
	got = strings.Join(benchArgs("/s", Workloads[4], o), " ")
	if !strings.Contains(got, "-c 1000 -d 16 -s 4096 -S 32436224 ") || strings.Contains(got, " -w") {
		t.Errorf("random read: %s", got)
	}
}

// Seed 003's own figures come out as seed 003 printed them.
func TestTableInTheSeedsLayout(t *testing.T) {
	fig := func(p, q, l float64) map[Format]Figure {
		return map[Format]Figure{Plain: {Median: p}, QEMULUKS: {Median: q}, LibrbdLUKS2: {Median: l}}
	}
	r := Result{Formats: []Format{Plain, QEMULUKS, LibrbdLUKS2}, Figures: map[string]map[Format]Figure{
		"seq_read_1m_qd8_mib_s":  fig(349, 199, 347.3),
		"seq_read_1m_qd1_mib_s":  fig(176, 105, 155),
		"rand_read_4k_qd16_iops": fig(19100, 16900, 18650),
		"seq_write_1m_qd8_mib_s": fig(64.7, 49.7, 59.5),
	}, CreateS: map[Format]float64{Plain: 0.05, QEMULUKS: 4.2, LibrbdLUKS2: 12.5},
		UnlockS: map[Format]float64{QEMULUKS: 2.25, LibrbdLUKS2: 1.8}}
	want := `| workload | plain | QEMU-layer LUKS | librbd LUKS2 |
|---|---|---|---|
| 1M seq read QD8 | 349 MiB/s | 199 MiB/s (-43%) | 347 MiB/s (-0.5%) |
| 1M seq read QD1 | 176 MiB/s | 105 MiB/s (-40%) | 155 MiB/s (-12%) |
| 4K random read QD16 | 19.1k IOPS | 16.9k IOPS (-12%) | 18.6k IOPS (-2.4%) |
| 1M seq write QD8 | 64.7 MiB/s | 49.7 MiB/s (-23%) | 59.5 MiB/s (-8.0%) |
| create (once) | 0.05 s | 4.2 s | 12 s |
| unlock (each open) | - | 2.2 s | 1.8 s |
`
	if got := r.Table(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}
