package benchenc

import (
	"fmt"
	"math"
	"slices"

	"stowage/model"
)

// Format is one way a scratch image is stored.
type Format string

// The formats compared.
const (
	Plain       Format = "plain"
	QEMULUKS    Format = "qemu-luks"
	LibrbdLUKS2 Format = "librbd-luks2"
)

// Title is the format's column heading, as in seed 003's table.
func (f Format) Title() string {
	switch f {
	case QEMULUKS:
		return "QEMU-layer LUKS"
	case LibrbdLUKS2:
		return "librbd LUKS2"
	}
	return "plain"
}

// Workload is one qemu-img bench invocation.
type Workload struct {
	// Key names the workload in JSON (with the unit appended).
	Key   string
	Label string
	Write bool
	// Block is the request size; Depth the requests in flight.
	Block uint64
	Depth int
	// Random: offsets scattered by a prime stride (qemu-img bench has no
	// random mode), else sequential.
	Random bool
}

// IOPS reports the workload in requests per second, else MiB/s.
func (w Workload) IOPS() bool { return w.Random }

// Unit is the JSON unit suffix of the workload's figure.
func (w Workload) Unit() string {
	if w.IOPS() {
		return "iops"
	}
	return "mib_s"
}

const (
	mib = 1 << 20
	kib = 1 << 10
)

// Workloads in the order they run: writes first, so that every read hits
// allocated (written) data.
var Workloads = []Workload{
	{Key: "seq_write_1m_qd1", Label: "1M seq write QD1", Write: true, Block: mib, Depth: 1},
	{Key: "seq_write_1m_qd8", Label: "1M seq write QD8", Write: true, Block: mib, Depth: 8},
	{Key: "seq_read_1m_qd1", Label: "1M seq read QD1", Block: mib, Depth: 1},
	{Key: "seq_read_1m_qd8", Label: "1M seq read QD8", Block: mib, Depth: 8},
	{Key: "rand_read_4k_qd16", Label: "4K random read QD16", Block: 4 * kib, Depth: 16, Random: true},
}

// fillWorkload writes the whole image once before anything is timed.
var fillWorkload = Workload{Key: "fill", Label: "fill (untimed)", Write: true, Block: mib, Depth: 8}

// tableOrder is seed 003's row order, then what the seed did not measure.
var tableOrder = []string{"seq_read_1m_qd8", "seq_read_1m_qd1", "rand_read_4k_qd16", "seq_write_1m_qd8", "seq_write_1m_qd1"}

// Size bounds: below 16 MiB a pass is too short to time; the upper bound
// keeps three scratch images (and a memstore OSD's RAM) sane.
const (
	MinSize = 16 * mib
	MaxSize = 64 << 30
)

// Options say how much to measure.
type Options struct {
	// Size is each image's size as the guest would see it (the LUKS
	// headers come on top), a multiple of 1 MiB.
	Size uint64
	// Runs is how many times every workload runs on every image; figures
	// are medians over runs.
	Runs int
	// RandomOps caps the 4 KiB random reads per run (at most one per 4 KiB
	// block of the image).
	RandomOps int
}

// Defaults: full and quick (--quick).
var (
	FullOptions  = Options{Size: 256 * mib, Runs: 3, RandomOps: 8192}
	QuickOptions = Options{Size: 32 * mib, Runs: 1, RandomOps: 2048}
)

// ParseSize reads --size and checks it against the bounds.
func ParseSize(s string) (uint64, error) {
	n, err := model.ParseSize(s)
	if err != nil {
		return 0, fmt.Errorf("--size: %w", err)
	}
	return n, CheckSize(n)
}

// CheckSize says what is wrong with a size, and what would be right.
func CheckSize(n uint64) error {
	switch {
	case n < MinSize:
		return fmt.Errorf("--size %s is too small to time: give at least %s, e.g. 64M", model.IBytes(n), model.IBytes(MinSize))
	case n > MaxSize:
		return fmt.Errorf("--size %s is more than a benchmark needs (three scratch images): give at most %s, e.g. 1G", model.IBytes(n), model.IBytes(MaxSize))
	case n%mib != 0:
		return fmt.Errorf("--size %d bytes is not a whole number of MiB: give e.g. %dM", n, n/mib+1)
	}
	return nil
}

// CheckRuns says what is wrong with --runs.
func CheckRuns(n int) error {
	if n < 1 || n > 100 {
		return fmt.Errorf("--runs %d: give a count from 1 to 100 (figures are medians over the runs), e.g. 3", n)
	}
	return nil
}

// count is how many requests w makes in one run: sequential workloads
// pass over the whole image once; random reads touch at most every 4 KiB
// block once, capped by RandomOps.
func (o Options) count(w Workload) uint64 {
	n := o.Size / w.Block
	if w.Random && o.RandomOps > 0 && n > uint64(o.RandomOps) {
		n = uint64(o.RandomOps)
	}
	return n
}

// strideBlocks are primes; stride picks the first that does not divide
// the image's block count, so that successive offsets k·stride mod size
// visit distinct blocks (a permutation when the count is coprime).
var strideBlocks = []uint64{7919, 7907, 7901, 104729}

// stride is the step for a random workload on an image of size bytes: a
// prime number of blocks, so offsets stay aligned to the block.
func stride(size, block uint64) uint64 {
	blocks := size / block
	for _, p := range strideBlocks {
		if blocks%p != 0 {
			return p * block
		}
	}
	return strideBlocks[0] * block
}

// Median of xs (0 for none); xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// PercentVs is enc's difference from base in percent (negative: slower);
// NaN when base is zero.
func PercentVs(enc, base float64) float64 {
	if base == 0 {
		return math.NaN()
	}
	return (enc - base) / base * 100
}
