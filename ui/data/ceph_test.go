package data

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"stowage/model"
)

// stuck is a Ceph reader stuck in a call that ignores its context, as a
// library blocked on a dead monitor would be.
type stuck struct{ release chan struct{} }

func (s stuck) Ceph(context.Context, int) ([]model.CephView, error) {
	<-s.release
	return nil, nil
}

// A read whose call hangs ends when its context does, with a message that
// names the bound: the view shows it instead of waiting for ever.
func TestCephReadThatHangsEndsWithAMessage(t *testing.T) {
	s := stuck{release: make(chan struct{})}
	defer close(s.release)
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0)) // already past: no waiting
	defer cancel()
	_, err := readCeph(ctx, s, 0, 40*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer from Ceph within 40s") {
		t.Fatalf("err = %v", err)
	}
}
