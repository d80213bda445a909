package libvirtx

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"stowage/model"
)

// VolumeSecretXML renders a private, persistent volume-usage secret.
// usage is the volume's path (or pool/image for RBD).
func VolumeSecretXML(usage, description string) (string, error) {
	x := libvirtxml.Secret{
		Ephemeral:   "no",
		Private:     "yes",
		Description: description,
		Usage:       &libvirtxml.SecretUsage{Type: "volume", Volume: usage},
	}
	return x.Marshal()
}

// DefineVolumeSecret defines a private volume secret (no value yet) and
// returns its UUID.
func (c *Conn) DefineVolumeSecret(ctx context.Context, usage, description string) (string, error) {
	if err := c.refuseUnsafeSecret("define secret for " + usage); err != nil {
		return "", err
	}
	doc, err := VolumeSecretXML(usage, description)
	if err != nil {
		return "", err
	}
	s, err := call(ctx, c, fmt.Sprintf("define secret for %s", usage), func(l *libvirt.Libvirt) (libvirt.Secret, error) {
		return l.SecretDefineXML(doc, 0)
	})
	if err != nil {
		return "", err
	}
	return FormatUUID(s.UUID), nil
}

// SetSecretValue stores value in a secret. The caller clears value
// afterwards; it is never logged or wrapped into an error.
func (c *Conn) SetSecretValue(ctx context.Context, uuid string, value []byte) error {
	if err := c.refuseUnsafeSecret("set the value of secret " + uuid); err != nil {
		return err
	}
	u, err := ParseUUID(uuid)
	if err != nil {
		return err
	}
	return c.do(ctx, "set the value of secret "+uuid, func(l *libvirt.Libvirt) error {
		s, err := l.SecretLookupByUUID(u)
		if err != nil {
			return err
		}
		return l.SecretSetValue(s, value, 0)
	})
}

// SecretValue reads a secret's value back. libvirt refuses it for
// private secrets (every secret stowage defines); it exists for
// non-private cephx secrets and for tests.
func (c *Conn) SecretValue(ctx context.Context, uuid string) ([]byte, error) {
	u, err := ParseUUID(uuid)
	if err != nil {
		return nil, err
	}
	return call(ctx, c, "read the value of secret "+uuid, func(l *libvirt.Libvirt) ([]byte, error) {
		s, err := l.SecretLookupByUUID(u)
		if err != nil {
			return nil, err
		}
		return l.SecretGetValue(s, 0)
	})
}

// Secret reads one secret's description (never its value).
func (c *Conn) Secret(ctx context.Context, uuid string) (model.Secret, error) {
	u, err := ParseUUID(uuid)
	if err != nil {
		return model.Secret{}, err
	}
	doc, err := call(ctx, c, "read secret "+uuid, func(l *libvirt.Libvirt) (string, error) {
		s, err := l.SecretLookupByUUID(u)
		if err != nil {
			return "", err
		}
		return l.SecretGetXMLDesc(s, 0)
	})
	if err != nil {
		return model.Secret{}, err
	}
	return SecretFromXML(doc)
}

// SecretByVolumeUsage finds the volume secret whose usage is usage; ok is
// false when there is none.
func (c *Conn) SecretByVolumeUsage(ctx context.Context, usage string) (uuid string, ok bool, err error) {
	s, err := call(ctx, c, "look up the secret of "+usage, func(l *libvirt.Libvirt) (libvirt.Secret, error) {
		return l.SecretLookupByUsage(int32(libvirt.SecretUsageTypeVolume), usage)
	})
	if IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return FormatUUID(s.UUID), true, nil
}

// ParseUUID reads a textual UUID into libvirt's 16 bytes.
func ParseUUID(s string) (libvirt.UUID, error) {
	var u libvirt.UUID
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != len(u) {
		return u, fmt.Errorf("%q is not a UUID", s)
	}
	copy(u[:], b)
	return u, nil
}

// FormatUUID writes libvirt's 16 bytes as 8-4-4-4-12 hex.
func FormatUUID(u libvirt.UUID) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
