package benchenc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"stowage/libvirtx"
)

// Secret object ids: the passphrase is always the child's first file
// (/dev/fd/3); the cephx key, when the pool needs one, the second.
const (
	secretPass  = "bench-pass"
	secretCephx = "bench-cephx"
	nodeName    = "bench"
)

func secretObjects(n int) []string {
	objs := []string{"--object", "secret,id=" + secretPass + ",file=" + FD(0)}
	if n > 1 {
		// The key is base64 text as in a keyring; QEMU decodes it and
		// hands librados base64 again.
		objs = append(objs, "--object", "secret,id="+secretCephx+",file="+FD(1)+",format=base64")
	}
	return objs
}

// Retried is told of each qemu-img create that failed on QEMU's LUKS
// benchmark and is made again.
type Retried func(attempt, of int, cause error)

// CreateLUKS runs `qemu-img create -f luks` on target (a path or an rbd:
// filename) with the passphrase as files[0] (and the cephx key as
// files[1]), retrying QEMU's benchmark failure ("Unable to get accurate
// CPU usage", about 1 create in 3 on a 2-core host) a bounded number of
// times. cleanup runs after each failed attempt: qemu-img creates the
// protocol-level image before it derives the key, and leaves it when the
// benchmark fails.
func CreateLUKS(ctx context.Context, ex Exec, target string, size uint64, files [][]byte, cleanup func() error, retried Retried) error {
	args := []string{"create", "-q", "-f", "luks"}
	args = append(args, secretObjects(len(files))...)
	opts := "key-secret=" + secretPass
	if len(files) > 1 {
		opts += ",password-secret=" + secretCephx
	}
	args = append(args, "-o", opts, target, strconv.FormatUint(size, 10))
	_, err := libvirtx.RetryLUKSBenchmark(ctx, target, libvirtx.Retried(retried), func() (struct{}, error) {
		_, err := ex.Output(ctx, "qemu-img", args, files)
		// Only QEMU's benchmark failure comes after qemu-img made the
		// image; any other failure (the name taken, say) may have made
		// nothing of ours, so nothing is removed.
		if libvirtx.IsLUKSBenchmarkFailure(err) && cleanup != nil {
			if cerr := cleanup(); cerr != nil {
				return struct{}{}, errors.Join(err, fmt.Errorf("remove the failed attempt: %w", cerr))
			}
		}
		return struct{}{}, err
	})
	var lb *libvirtx.LUKSBenchmarkError
	if errors.As(err, &lb) {
		return fmt.Errorf("qemu-img could not time its LUKS key derivation in %d attempts (%q: this host's per-thread CPU accounting is too coarse); each failed attempt was removed: run the benchmark again",
			lb.Attempts, "Unable to get accurate CPU usage")
	}
	return err
}

// daemon is a qemu-storage-daemon holding one image open and exporting it
// over NBD on a unix socket.
type daemon struct {
	proc   Proc
	socket string
	exited chan error
	// Open is start until ready: process start, connecting to storage
	// and, for an encrypted image, the unlock (PBKDF).
	Open time.Duration
}

// startDaemon starts a storage daemon on blockdev in dir (private, 0700),
// and waits until it is ready: qemu-storage-daemon writes its pid file
// after it has opened every block device and started every export, and
// before it serves (documented in its manual).
func startDaemon(ctx context.Context, ex Exec, dir string, blockdev map[string]any, files [][]byte) (*daemon, error) {
	bd, err := json.Marshal(blockdev)
	if err != nil {
		return nil, fmt.Errorf("blockdev: %w", err)
	}
	sock, pid := filepath.Join(dir, "nbd.sock"), filepath.Join(dir, "daemon.pid")
	_ = os.Remove(sock)
	_ = os.Remove(pid)
	args := secretObjects(len(files))
	args = append(args, "--blockdev", string(bd),
		"--nbd-server", "addr.type=unix,addr.path="+sock,
		"--export", "type=nbd,id=bench,node-name="+nodeName+",name="+nodeName+",writable=on",
		"--pidfile", pid)
	start := time.Now()
	p, err := ex.Start("qemu-storage-daemon", args, files)
	if err != nil {
		return nil, err
	}
	d := &daemon{proc: p, socket: sock, exited: make(chan error, 1)}
	go func() { d.exited <- p.Wait() }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if st, err := os.Stat(pid); err == nil && st.Size() > 0 {
			d.Open = time.Since(start)
			return d, nil
		}
		select {
		case err := <-d.exited:
			d.exited <- err
			return nil, fmt.Errorf("qemu-storage-daemon exited before it was ready (%v): %s", err, p.Stderr())
		case <-ctx.Done():
			d.stop()
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// stop ends the daemon and waits for it, so that the image it holds can
// be removed: SIGTERM, then SIGKILL if it has not gone in 10 s.
func (d *daemon) stop() {
	_ = d.proc.Stop()
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-d.exited:
	case <-t.C:
		_ = d.proc.Kill()
		<-d.exited
	}
}

var runCompleted = regexp.MustCompile(`Run completed in ([0-9.]+) seconds`)

// ParseBench reads qemu-img bench's own timing of its I/O loop.
func ParseBench(out []byte) (time.Duration, error) {
	m := runCompleted.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("qemu-img bench printed no %q line: %q", "Run completed in", out)
	}
	s, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || s <= 0 {
		// qemu-img prints three decimals: a loop under 1 ms reads 0.000.
		return 0, fmt.Errorf("qemu-img bench ran for %q seconds: too short to time; give a larger --size", m[1])
	}
	return time.Duration(s * float64(time.Second)), nil
}

// benchArgs is the qemu-img bench command for w against the daemon's export.
func benchArgs(socket string, w Workload, o Options) []string {
	args := []string{"bench", "--image-opts", "-c", strconv.FormatUint(o.count(w), 10),
		"-d", strconv.Itoa(w.Depth), "-s", strconv.FormatUint(w.Block, 10)}
	if w.Write {
		args = append(args, "-w")
	}
	if w.Random {
		args = append(args, "-S", strconv.FormatUint(stride(o.Size, w.Block), 10))
	}
	return append(args, "driver=nbd,server.type=unix,server.path="+socket+",export="+nodeName)
}

// runWorkload runs w once and returns its figure: MiB/s, or IOPS.
func runWorkload(ctx context.Context, ex Exec, socket string, w Workload, o Options) (float64, error) {
	out, err := ex.Output(ctx, "qemu-img", benchArgs(socket, w, o), nil)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", w.Label, err)
	}
	d, err := ParseBench(out)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", w.Label, err)
	}
	n := float64(o.count(w))
	if w.IOPS() {
		return n / d.Seconds(), nil
	}
	return n * float64(w.Block) / mib / d.Seconds(), nil
}
