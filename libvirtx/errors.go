package libvirtx

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/digitalocean/go-libvirt"
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

// IsNotFound reports whether err is libvirt's "no such pool/volume/domain/secret".
func IsNotFound(err error) bool {
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
