package ceph

import (
	"errors"
	"fmt"
	"testing"

	"stowage/model"
)

// Callers outside ceph (drive's undo) tell a replaced image by
// model.ErrNotTheSame; ceph's own sentinel must still match too.
func TestErrImageReplacedIsNotTheSame(t *testing.T) {
	err := fmt.Errorf("ceph: image p/i has id b, not a: %w", ErrImageReplaced)
	if !errors.Is(err, model.ErrNotTheSame) || !errors.Is(err, ErrImageReplaced) {
		t.Fatalf("%v: matches model.ErrNotTheSame %v, ErrImageReplaced %v; want both", err,
			errors.Is(err, model.ErrNotTheSame), errors.Is(err, ErrImageReplaced))
	}
	if errors.Is(errors.New("other"), ErrImageReplaced) {
		t.Fatal("ErrImageReplaced matches an error that is not it")
	}
}
