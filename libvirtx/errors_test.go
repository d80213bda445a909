package libvirtx

import (
	"errors"
	"fmt"
	"testing"

	"github.com/digitalocean/go-libvirt"

	"stowage/model"
)

// Callers outside libvirtx (drive, iscsi) decide with model's sentinels:
// libvirt's "no such object" must match model.ErrNotFound, keeping its
// words and its libvirt error, and nothing else may.
func TestLibvirtErrorsMatchModelSentinels(t *testing.T) {
	for _, code := range []libvirt.ErrorNumber{libvirt.ErrNoStoragePool, libvirt.ErrNoStorageVol, libvirt.ErrNoDomain, libvirt.ErrNoSecret} {
		le := libvirt.Error{Code: uint32(code), Message: "no such thing"}
		err := fmt.Errorf("look up x: %w", markNotFound(le))
		var got libvirt.Error
		if !errors.Is(err, model.ErrNotFound) || !IsNotFound(err) || !errors.As(err, &got) || err.Error() != "look up x: "+le.Error() {
			t.Errorf("code %d: %v; want model.ErrNotFound, libvirt's error and words kept", code, err)
		}
	}
	for _, err := range []error{libvirt.Error{Code: uint32(libvirt.ErrOperationInvalid)}, errors.New("other"), ErrTimeout} {
		if errors.Is(markNotFound(err), model.ErrNotFound) {
			t.Errorf("%v marked not found", err)
		}
	}
	if err := fmt.Errorf("call: %w", ErrTimeout); !errors.Is(err, model.ErrTimeout) || ErrTimeout.Error() != "libvirtd did not answer in time" {
		t.Errorf("ErrTimeout %q: matches model.ErrTimeout %v", ErrTimeout, errors.Is(err, model.ErrTimeout))
	}
}
