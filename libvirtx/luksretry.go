package libvirtx

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// QEMU's LUKS benchmark. Before it writes a LUKS header, qemu-img times
// PBKDF2 on its own thread with getrusage(RUSAGE_THREAD); where the kernel
// accounts CPU time coarsely (cloud VMs, nested hypervisors) that reading
// can come back zero, and QEMU gives up with "Unable to get accurate CPU
// usage". Nothing about the volume is wrong, and the next attempt usually
// works (about 1 failure in 3 on the machines we measured), so stowage
// creates the volume again, a bounded number of times.
//
// A retry never touches anything stowage did not create: when the build
// fails, libvirt's storage driver deletes the volume it had just made
// itself (storageVolCreateXML: "buildVol handles deleting volume on
// failure"), and a retry only asks libvirt to create the volume again. If
// another admin made a volume of that name meanwhile, the retry fails with
// "already exists" and their volume is left alone.
const qemuBenchmarkMessage = "Unable to get accurate CPU usage"

// LUKSBenchmarkAttempts is how many times in all a volume creation that
// failed on QEMU's benchmark is tried. Each failed attempt costs well under
// a second; at 1 failure in 3, eight attempts all fail about once in 6,500.
const LUKSBenchmarkAttempts = 8

// IsLUKSBenchmarkFailure reports whether err is QEMU's benchmark failure.
func IsLUKSBenchmarkFailure(err error) bool {
	return err != nil && strings.Contains(err.Error(), qemuBenchmarkMessage)
}

// BriefCause names a failure in a few words for a progress line: QEMU's
// benchmark failure by what it means, anything else as it is.
func BriefCause(err error) string {
	if IsLUKSBenchmarkFailure(err) {
		return "QEMU could not time its LUKS key derivation: " + qemuBenchmarkMessage
	}
	return err.Error()
}

// LUKSBenchmarkError is returned when every attempt failed on QEMU's
// benchmark. Err is the last attempt's error, as libvirt gave it.
type LUKSBenchmarkError struct {
	Volume   string
	Attempts int
	Err      error
}

func (e *LUKSBenchmarkError) Error() string {
	return fmt.Sprintf("create volume %s: QEMU could not time its LUKS key derivation on this host in %d attempts "+
		"(qemu-img: %q; the host's per-thread CPU accounting is too coarse, as on many cloud VMs and nested hypervisors); "+
		"libvirt removed each failed attempt, nothing is left behind: create the drive again, "+
		"or use an rbd pool (librbd formats LUKS without QEMU's benchmark)",
		e.Volume, e.Attempts, qemuBenchmarkMessage)
}

func (e *LUKSBenchmarkError) Unwrap() error { return e.Err }

// Retried is told of each attempt that failed on QEMU's benchmark and is
// about to be made again: attempt is the one that failed (1-based), of the
// bound.
type Retried func(attempt, of int, cause error)

// luksRetry runs create until it succeeds, fails for another reason, or
// has failed on QEMU's benchmark `attempts` times. pause runs between
// attempts (nil: none); a cancelled ctx stops the retries.
func luksRetry[T any](ctx context.Context, volume string, attempts int, pause func(ctx context.Context, attempt int) error,
	retried Retried, create func() (T, error)) (T, error) {
	var zero T
	for attempt := 1; ; attempt++ {
		out, err := create()
		if !IsLUKSBenchmarkFailure(err) {
			return out, err
		}
		if attempt >= attempts {
			return zero, &LUKSBenchmarkError{Volume: volume, Attempts: attempt, Err: err}
		}
		if retried != nil {
			retried(attempt, attempts, err)
		}
		if pause != nil {
			if perr := pause(ctx, attempt); perr != nil {
				return zero, errors.Join(err, perr)
			}
		}
	}
}

// jitteredPause waits a little longer after each failed attempt, with
// jitter, so that the next benchmark does not run in the same scheduler
// rhythm that starved the last one.
func jitteredPause(ctx context.Context, attempt int) error {
	d := time.Duration(attempt)*100*time.Millisecond + rand.N(100*time.Millisecond)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("retry after QEMU's LUKS benchmark failure: %w", ctx.Err())
	}
}

// RetryLUKSBenchmark runs create until it succeeds, fails for another
// reason, or has failed on QEMU's benchmark LUKSBenchmarkAttempts times
// (then a *LUKSBenchmarkError naming what), pausing a little longer after
// each failure. For callers that run qemu-img themselves (the encryption
// benchmark): the failed attempt's leftovers are theirs to remove inside
// create.
func RetryLUKSBenchmark[T any](ctx context.Context, what string, retried Retried, create func() (T, error)) (T, error) {
	return luksRetry(ctx, what, LUKSBenchmarkAttempts, jitteredPause, retried, create)
}
