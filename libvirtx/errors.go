package libvirtx

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/digitalocean/go-libvirt"

	"stowage/model"
)

// explainDialError turns a failed dial into words an admin can act on.
func explainDialError(t Target, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOENT):
		return fmt.Errorf("no libvirt socket at %s: is libvirtd running? (`systemctl start libvirtd`, or `lab/up` for the lab): %w", t.Socket, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		if t.Transport == "unix" {
			return fmt.Errorf("libvirtd refuses connections on %s: is it running? (`systemctl start libvirtd`): %w", t.Socket, err)
		}
		return fmt.Errorf("%s refuses connections: is libvirtd listening for %s there? %w", t.Host, t.Transport, err)
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EACCES):
		return fmt.Errorf("permission denied on %s: add your user to the libvirt group (`sudo usermod -aG libvirt $USER`, then log in again), use sudo, or pass --readonly: %w", t.Socket, err)
	}
	return err
}

// IsNotFound reports whether err is libvirt's "no such
// pool/volume/domain/secret" (marked model.ErrNotFound by every call, or
// libvirt's error itself).
func IsNotFound(err error) bool {
	return errors.Is(err, model.ErrNotFound) || isLibvirtNotFound(err)
}

// notFoundError is libvirt's "no such object", marked model.ErrNotFound so
// that callers outside libvirtx can tell it without go-libvirt's codes.
type notFoundError struct{ err error }

func (e notFoundError) Error() string   { return e.err.Error() }
func (e notFoundError) Unwrap() []error { return []error{e.err, model.ErrNotFound} }

// markNotFound marks err model.ErrNotFound when it is libvirt's "no such
// object"; its message stays libvirt's.
func markNotFound(err error) error {
	if isLibvirtNotFound(err) && !errors.Is(err, model.ErrNotFound) {
		return notFoundError{err}
	}
	return err
}

func isLibvirtNotFound(err error) bool {
	var le libvirt.Error
	if !errors.As(err, &le) {
		return false
	}
	switch libvirt.ErrorNumber(le.Code) {
	case libvirt.ErrNoStoragePool, libvirt.ErrNoStorageVol, libvirt.ErrNoDomain, libvirt.ErrNoSecret:
		return true
	}
	return false
}
