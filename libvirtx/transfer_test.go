package libvirtx

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"stowage/model"
)

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, errors.New("disk full")
}

// A download's sink never fails a write towards go-libvirt (that would
// hang the connection); it records the failure, cuts the stream (cancels)
// and drops what follows.
func TestSinkNeverFailsTheStream(t *testing.T) {
	ctx, stop := context.WithCancelCause(context.Background())
	defer stop(nil)
	m := newMover(ctx, stop, model.Stream{})
	w := &failingWriter{}
	s := &sink{w: w, m: m}
	for i := 0; i < 3; i++ {
		if n, err := s.Write(make([]byte, 10)); n != 10 || err != nil {
			t.Fatalf("write %d: %d, %v; want 10, nil", i, n, err)
		}
	}
	if w.n != 1 {
		t.Errorf("the file got %d writes after failing; want none after the first", w.n-1)
	}
	if ctx.Err() == nil {
		t.Error("a failed write did not cut the stream")
	}
	if err := m.outcome(errors.New("cut")); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("outcome %v; want the write's own error", err)
	}
}

// An upload's source ends (EOF) once the run is cancelled, and reports
// the bytes it moved.
func TestSourceEndsOnCancel(t *testing.T) {
	ctx, stop := context.WithCancelCause(context.Background())
	var reported uint64
	m := newMover(ctx, stop, model.Stream{Progress: func(d uint64) { reported = d }})
	s := &source{r: strings.NewReader(strings.Repeat("x", 100)), m: m}
	buf := make([]byte, 40)
	if n, err := s.Read(buf); n != 40 || err != nil || reported != 40 {
		t.Fatalf("read: %d %v, reported %d", n, err, reported)
	}
	stop(errors.New("ctrl+c"))
	if n, err := s.Read(buf); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("read after cancel: %d %v; want 0, EOF", n, err)
	}
}

// A stream with no byte moved for Stall is cut with ErrStalled (the test
// waits for the cut itself, not for a time).
func TestMoverCutsAStall(t *testing.T) {
	ctx, stop := context.WithCancelCause(context.Background())
	defer stop(nil)
	newMover(ctx, stop, model.Stream{Stall: 20 * time.Millisecond})
	<-ctx.Done()
	if cause := context.Cause(ctx); !errors.Is(cause, ErrStalled) || !errors.Is(cause, model.ErrTimeout) {
		t.Errorf("cause %v; want ErrStalled and a timeout", cause)
	}
}

// Once an upload's source is drained, the wait for libvirtd's answer is
// not a stall of the source: it is cut only after drainFactor times the
// bound, and says so.
func TestMoverDrainedWaitsLonger(t *testing.T) {
	ctx, stop := context.WithCancelCause(context.Background())
	defer stop(nil)
	m := newMover(ctx, stop, model.Stream{Stall: 10 * time.Millisecond})
	s := &source{r: strings.NewReader(""), m: m}
	if _, err := s.Read(make([]byte, 1)); !errors.Is(err, io.EOF) || !m.drained.Load() {
		t.Fatalf("EOF did not mark the source drained: %v", err)
	}
	<-ctx.Done()
	if cause := context.Cause(ctx); !errors.Is(cause, ErrNotFinished) || !strings.Contains(cause.Error(), "50ms") {
		t.Errorf("cause %v; want ErrNotFinished after 5 x 10ms", cause)
	}
}
