package benchenc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"stowage/drive"
	"stowage/model"
	"stowage/plan"
)

// Storage is where the scratch images live: an rbd pool (RBD) or a dir
// pool's directory (Dir); unit tests use a fake.
type Storage interface {
	// Kind is the libvirt pool type: rbd or dir.
	Kind() string
	// Formats are the formats this storage compares, plain first.
	Formats() []Format
	// Object names an image for people and the audit log: pool/name or
	// the file's path.
	Object(name string) string
	// Create makes image name in format f, size bytes as a guest sees it,
	// with pass as its passphrase. The Made it returns (also with an
	// error, once something exists) removes exactly that image.
	Create(ctx context.Context, f Format, name string, size uint64, pass []byte, retried Retried) (plan.Made, error)
	// Blockdev is the QEMU block node (node-name "bench") that opens the
	// image, its secrets named secretPass and secretCephx.
	Blockdev(f Format, name string) map[string]any
	// Secrets are what a QEMU child needs besides the passphrase (the
	// cephx key), as files after it.
	Secrets() [][]byte
	// List names the images whose names start with prefix.
	List(prefix string) ([]string, error)
}

// NamePrefix starts every scratch image's name.
const NamePrefix = "stowage-bench-"

// Deps are what Run needs, passed explicitly.
type Deps struct {
	Exec    Exec
	Storage Storage
	// Runner creates and removes the images (audit log, events, undo by
	// identity); its Events channel, when set, must be drained.
	Runner plan.Runner
	// Rand makes the name's random part and the passphrase (nil:
	// crypto/rand).
	Rand io.Reader
	// Progress receives one human line per phase (stderr in the CLI).
	Progress func(string)
}

// Figure is one measurement: its median and every run.
type Figure struct {
	Median float64   `json:"median"`
	Runs   []float64 `json:"runs"`
}

// Result is what a benchmark measured.
type Result struct {
	Pool      string   `json:"pool"`
	PoolType  string   `json:"pool_type"`
	SizeBytes uint64   `json:"size_bytes"`
	Runs      int      `json:"runs"`
	Formats   []Format `json:"formats"`
	// Figures: workload key and unit (seq_read_1m_qd8_mib_s,
	// rand_read_4k_qd16_iops) → format → figure.
	Figures map[string]map[Format]Figure `json:"figures"`
	// CreateS is each image's creation (for LUKS: header and PBKDF).
	CreateS map[Format]float64 `json:"create_s"`
	// OpenS is the daemon's start-to-ready time per run; UnlockS the
	// median open minus plain's: the PBKDF at each open.
	OpenS   map[Format]Figure  `json:"open_s"`
	UnlockS map[Format]float64 `json:"unlock_s"`
	// Ratios: FORMAT_vs_plain_WORKLOAD_pct, the encrypted median's
	// difference from plain's in percent (negative: slower).
	Ratios map[string]float64 `json:"ratios"`
	Method string             `json:"method"`
}

// Run creates the scratch images, measures every workload on each, and
// removes the images, always: on success, on failure and when ctx is
// cancelled (the run in progress is stopped; the images go). What could
// not be removed is named in the error with the command that removes it.
func Run(ctx context.Context, d Deps, o Options) (res Result, err error) {
	st := d.Storage
	rnd := d.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	say := func(format string, args ...any) {
		if d.Progress != nil {
			d.Progress(fmt.Sprintf(format, args...))
		}
	}
	tag := make([]byte, 4)
	if _, err := io.ReadFull(rnd, tag); err != nil {
		return res, fmt.Errorf("random name: %w", err)
	}
	prefix := NamePrefix + hex.EncodeToString(tag)
	if found, err := st.List(prefix); err != nil {
		return res, fmt.Errorf("list %s: %w", st.Object(prefix+"*"), err)
	} else if len(found) > 0 {
		return res, d.Runner.Refuse("bench: create scratch image", st.Object(found[0]),
			fmt.Errorf("%s exists already (not made by this run): left alone; run the benchmark again for another name", st.Object(found[0])))
	}
	pass, err := drive.NewPassphrase(rnd)
	if err != nil {
		return res, err
	}
	defer clear(pass)
	dir, err := os.MkdirTemp("", "stowage-bench-")
	if err != nil {
		return res, fmt.Errorf("private directory for the daemon's socket: %w", err)
	}
	defer os.RemoveAll(dir)

	formats := st.Formats()
	names := map[Format]string{}
	res = Result{PoolType: st.Kind(), SizeBytes: o.Size, Runs: o.Runs, Formats: formats,
		Figures: map[string]map[Format]Figure{}, CreateS: map[Format]float64{},
		OpenS: map[Format]Figure{}, UnlockS: map[Format]float64{}, Ratios: map[string]float64{}}
	var done []plan.Done
	var acts []plan.Action
	for i, f := range formats {
		name := prefix + "-" + string(f)
		names[f] = name
		a := plan.Action{
			Step:   model.Step{ID: model.StepID("bench-create-" + string(f)), Title: fmt.Sprintf("create %s scratch image %s", f.Title(), st.Object(name))},
			Audit:  "bench: create scratch image",
			Object: st.Object(name),
			Do: func(ctx context.Context, r plan.Report) (plan.Made, error) {
				start := time.Now()
				m, err := st.Create(ctx, f, name, o.Size, pass, func(attempt, of int, cause error) {
					r.Retried(attempt, of, "QEMU could not time its LUKS key derivation", cause)
				})
				res.CreateS[f] = time.Since(start).Seconds()
				return m, err
			},
		}
		acts = append(acts, plan.Keep(a, i, &done))
	}
	if _, err := d.Runner.Run(ctx, acts); err != nil {
		// Run has undone what it made.
		return res, fmt.Errorf("create the scratch images: %w", err)
	}
	defer func() {
		say("removing the scratch images")
		cause := errors.New("benchmark finished")
		if err != nil {
			cause = err
		}
		left, uerr := d.Runner.Undo(cause, done)
		if len(left) > 0 {
			err = uerr
		}
	}()

	files := append([][]byte{pass}, st.Secrets()...)
	opens := map[Format][]float64{}
	runs := map[string]map[Format][]float64{}
	for run := 1; run <= o.Runs; run++ {
		for _, f := range formats {
			if err := ctx.Err(); err != nil {
				return res, fmt.Errorf("benchmark: %w", plan.ErrCancelled)
			}
			say("run %d of %d: %s", run, o.Runs, f.Title())
			open, figs, err := measure(ctx, d.Exec, dir, st.Blockdev(f, names[f]), files, o, run == 1)
			if err != nil {
				if ctx.Err() != nil {
					return res, fmt.Errorf("benchmark: %w", plan.ErrCancelled)
				}
				return res, fmt.Errorf("benchmark %s on %s: %w", f.Title(), st.Object(names[f]), err)
			}
			opens[f] = append(opens[f], open.Seconds())
			for i, w := range Workloads {
				k := w.Key + "_" + w.Unit()
				if runs[k] == nil {
					runs[k] = map[Format][]float64{}
				}
				runs[k][f] = append(runs[k][f], figs[i])
			}
		}
	}
	res.summarize(opens, runs)
	res.Method = method(o)
	return res, nil
}

// measure opens one image in a storage daemon and runs every workload on it.
// The first time, it fills the image once (untimed), so that every timed
// write overwrites allocated blocks and no format is measured paying for a
// sparse file's or a thin image's first allocation.
func measure(ctx context.Context, ex Exec, dir string, blockdev map[string]any, files [][]byte, o Options, fill bool) (time.Duration, []float64, error) {
	dm, err := startDaemon(ctx, ex, dir, blockdev, files)
	if err != nil {
		return 0, nil, err
	}
	defer dm.stop()
	if fill {
		if _, err := runWorkload(ctx, ex, dm.socket, fillWorkload, o); err != nil {
			return 0, nil, err
		}
	}
	var figs []float64
	for _, w := range Workloads {
		v, err := runWorkload(ctx, ex, dm.socket, w, o)
		if err != nil {
			return 0, nil, err
		}
		figs = append(figs, v)
	}
	return dm.Open, figs, nil
}

func (r *Result) summarize(opens map[Format][]float64, runs map[string]map[Format][]float64) {
	for k, byFormat := range runs {
		r.Figures[k] = map[Format]Figure{}
		for f, xs := range byFormat {
			r.Figures[k][f] = Figure{Median: Median(xs), Runs: xs}
		}
		base := Median(byFormat[Plain])
		for _, f := range r.Formats {
			if f == Plain {
				continue
			}
			if p := PercentVs(Median(byFormat[f]), base); p == p { // not NaN
				r.Ratios[ratioKey(f, k)] = p
			}
		}
	}
	for f, xs := range opens {
		r.OpenS[f] = Figure{Median: Median(xs), Runs: xs}
	}
	plain := Median(opens[Plain])
	for _, f := range r.Formats {
		if f == Plain {
			continue
		}
		// Plain opens without a PBKDF: what an encrypted open takes beyond
		// it is the unlock. A negative difference is noise, not a gain.
		r.UnlockS[f] = max(0, Median(opens[f])-plain)
	}
}

func ratioKey(f Format, key string) string {
	k := map[Format]string{QEMULUKS: "qemu_luks", LibrbdLUKS2: "librbd_luks2"}[f]
	// key ends in its unit; the ratio is unitless.
	for _, u := range []string{"_mib_s", "_iops"} {
		if len(key) > len(u) && key[len(key)-len(u):] == u {
			key = key[:len(key)-len(u)]
		}
	}
	return k + "_vs_plain_" + key + "_pct"
}

// method says exactly how the figures were taken.
func method(o Options) string {
	rnd := workloadByKey("rand_read_4k_qd16")
	return fmt.Sprintf("Each image is opened by a qemu-storage-daemon (cache.direct=on: no host page cache, rbd_cache off) "+
		"and exported over NBD on a unix socket; qemu-img bench --image-opts drives the export and times only its I/O loop. "+
		"1 MiB sequential: %d requests (one pass over %d MiB) at QD1 and QD8, writes first so reads hit written data. "+
		"4 KiB reads at QD16: %d requests at offsets k*%d bytes mod size (a prime stride of 4 KiB blocks: qemu-img bench has no random mode). "+
		"Medians over %d run(s); every run reopens each image. Unlock = the daemon's start-to-ready time of the encrypted image minus plain's (the PBKDF at open).",
		o.count(Workloads[0]), o.Size/mib, o.count(rnd), stride(o.Size, rnd.Block), o.Runs)
}
