package libvirtx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// errBench is the error libvirt returns when qemu-img's PBKDF benchmark
// read zero CPU time (its text as libvirt 9.0 formats it).
var errBench = fmt.Errorf("create volume p/v: %w", errors.New("internal error: Child process (/usr/bin/qemu-img create -f raw -o encrypt.format=luks,encrypt.key-secret=sec0 /p/v 8388608K) unexpected exit status 1: qemu-img: /p/v: Unable to get accurate CPU usage"))

func TestLUKSRetryMakesTheCreateAgainUntilItWorks(t *testing.T) {
	var calls, paused int
	var told []int
	out, err := luksRetry(context.Background(), "p/v", 8,
		func(context.Context, int) error { paused++; return nil },
		func(attempt, of int, cause error) {
			if of != 8 || !IsLUKSBenchmarkFailure(cause) {
				t.Errorf("retried(%d, %d, %v)", attempt, of, cause)
			}
			told = append(told, attempt)
		},
		func() (string, error) {
			calls++
			if calls < 3 {
				return "", errBench
			}
			return "made", nil
		})
	if err != nil || out != "made" || calls != 3 || paused != 2 || fmt.Sprint(told) != "[1 2]" {
		t.Fatalf("out %q err %v after %d calls, %d pauses, retried %v; want made after 3 calls, 2 pauses, retried [1 2]", out, err, calls, paused, told)
	}
}

func TestLUKSRetryLeavesOtherErrorsAlone(t *testing.T) {
	exists := errors.New("storage volume 'v' exists already")
	calls := 0
	_, err := luksRetry(context.Background(), "p/v", 8, nil,
		func(int, int, error) { t.Error("retried a failure that is not QEMU's benchmark") },
		func() (string, error) { calls++; return "", exists })
	if !errors.Is(err, exists) || calls != 1 {
		t.Fatalf("err %v after %d calls; want the 'exists already' error after 1 call", err, calls)
	}
}

func TestLUKSRetryGivesUpWithTheCauseAndWhatToDo(t *testing.T) {
	calls := 0
	_, err := luksRetry(context.Background(), "p/v", 4, nil, nil,
		func() (string, error) { calls++; return "", errBench })
	var be *LUKSBenchmarkError
	if !errors.As(err, &be) || be.Attempts != 4 || calls != 4 || !errors.Is(err, errors.Unwrap(errBench)) {
		t.Fatalf("err %v (%T) after %d calls; want *LUKSBenchmarkError wrapping the last error after 4 calls", err, err, calls)
	}
	msg := err.Error()
	for _, want := range []string{"p/v", "4 attempts", "Unable to get accurate CPU usage", "nothing is left behind", "create the drive again"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	// The long qemu-img command line stays in the wrapped error (for the
	// log), not in the sentence the admin reads.
	if strings.Contains(msg, "Child process") {
		t.Errorf("message carries libvirt's raw text: %q", msg)
	}
}

func TestLUKSRetryStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	_, err := luksRetry(ctx, "p/v", 8, jitteredPause, nil,
		func() (string, error) { calls++; return "", errBench })
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("err %v after %d calls; want context.Canceled after 1 call", err, calls)
	}
}
