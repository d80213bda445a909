//go:build !noceph

package ceph

import (
	"fmt"

	"github.com/ceph/go-ceph/rbd"
)

// FormatLUKS writes a LUKS1 or LUKS2 header (AES-256) to an image through
// librbd, with passphrase as its key. librbd takes seconds here (PBKDF
// benchmark; no progress callback). The caller clears passphrase
// afterwards; it is never part of an error.
func (cl *Client) FormatLUKS(pool, name, format string, passphrase []byte) error {
	var opts rbd.EncryptionOptions
	switch format {
	case "luks1":
		opts = rbd.EncryptionOptionsLUKS1{Alg: rbd.EncryptionAlgorithmAES256, Passphrase: passphrase}
	case "luks2":
		opts = rbd.EncryptionOptionsLUKS2{Alg: rbd.EncryptionAlgorithmAES256, Passphrase: passphrase}
	default:
		return fmt.Errorf("ceph: LUKS format %q is unknown (luks1 or luks2)", format)
	}
	io, err := cl.ioctx(pool)
	if err != nil {
		return err
	}
	defer io.Destroy()
	img, err := rbd.OpenImage(io, name, rbd.NoSnapshot)
	if err != nil {
		return fmt.Errorf("ceph: open image %s/%s: %w", pool, name, err)
	}
	defer img.Close()
	if err := img.EncryptionFormat(opts); err != nil {
		return fmt.Errorf("ceph: format %s on %s/%s: %w", format, pool, name, err)
	}
	return nil
}

// ReadImageHead returns the first n bytes of an image as stored (for a
// LUKS image, its header).
func (cl *Client) ReadImageHead(pool, name string, n int) ([]byte, error) {
	io, err := cl.ioctx(pool)
	if err != nil {
		return nil, err
	}
	defer io.Destroy()
	img, err := rbd.OpenImageReadOnly(io, name, rbd.NoSnapshot)
	if err != nil {
		return nil, fmt.Errorf("ceph: open image %s/%s: %w", pool, name, err)
	}
	defer img.Close()
	buf := make([]byte, n)
	got, err := img.ReadAt(buf, 0)
	if err != nil {
		return nil, fmt.Errorf("ceph: read %s/%s: %w", pool, name, err)
	}
	return buf[:got], nil
}
