package libvirtx

import (
	"context"
	"errors"
	"fmt"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"stowage/model"
)

// ErrNoSecretAPI marks a host whose driver implements no secrets (libvirt's
// test driver): not a failure of the host, so the inventory still succeeds.
var ErrNoSecretAPI = errors.New("this host has no secret API")

// Secrets lists the host's secrets (never their values).
func (c *Conn) Secrets(ctx context.Context) ([]model.SecretInfo, error) {
	handles, err := call(ctx, c, "list secrets", func(l *libvirt.Libvirt) ([]libvirt.Secret, error) {
		ss, _, err := l.ConnectListAllSecrets(1, 0)
		return ss, err
	})
	var le libvirt.Error
	if errors.As(err, &le) && libvirt.ErrorNumber(le.Code) == libvirt.ErrNoSupport {
		return nil, fmt.Errorf("list secrets: %w", ErrNoSecretAPI)
	}
	if err != nil {
		return nil, err
	}
	out := make([]model.SecretInfo, len(handles))
	errs := make([]error, len(handles))
	parallel(len(handles), 16, func(i int) {
		out[i], errs[i] = c.secret(ctx, handles[i])
	})
	return keepFound(out, errs, func(s model.SecretInfo) bool { return s.UUID != "" })
}

func (c *Conn) secret(ctx context.Context, h libvirt.Secret) (model.SecretInfo, error) {
	what := fmt.Sprintf("read secret %s", h.UsageID)
	doc, err := call(ctx, c, what, func(l *libvirt.Libvirt) (string, error) { return l.SecretGetXMLDesc(h, 0) })
	if err != nil {
		return model.SecretInfo{}, err
	}
	s, err := SecretFromXML(doc)
	if err != nil {
		return model.SecretInfo{}, fmt.Errorf("%s: %w", what, err)
	}
	si := model.SecretInfo{Secret: s, Value: model.ValuePrivate}
	if s.Private {
		return si, nil
	}
	err = c.do(ctx, what, func(l *libvirt.Libvirt) error {
		v, err := l.SecretGetValue(h, 0)
		clear(v)
		return err
	})
	var le libvirt.Error
	switch {
	case err == nil:
		si.Value = model.ValueSet
	case errors.As(err, &le) && libvirt.ErrorNumber(le.Code) == libvirt.ErrNoSecret:
		si.Value = model.ValueUnset
	case errors.As(err, &le) && libvirt.ErrorNumber(le.Code) == libvirt.ErrInvalidSecret:
		si.Value = model.ValuePrivate
	default:
		return si, err
	}
	return si, nil
}

// SecretFromXML parses a secret's XML description.
func SecretFromXML(doc string) (model.Secret, error) {
	var x libvirtxml.Secret
	if err := x.Unmarshal(doc); err != nil {
		return model.Secret{}, fmt.Errorf("parse secret XML: %w", err)
	}
	s := model.Secret{UUID: x.UUID, Description: x.Description, Private: x.Private == "yes", Ephemeral: x.Ephemeral == "yes"}
	if u := x.Usage; u != nil {
		s.UsageType = u.Type
		switch u.Type {
		case "volume":
			s.UsageID = u.Volume
		case "iscsi":
			s.UsageID = u.Target
		default:
			s.UsageID = u.Name
		}
	}
	return s, nil
}

// SecretXML returns a secret's XML description by UUID.
func (c *Conn) SecretXML(ctx context.Context, uuid string) (string, error) {
	u, err := ParseUUID(uuid)
	if err != nil {
		return "", err
	}
	return call(ctx, c, "read secret "+uuid, func(l *libvirt.Libvirt) (string, error) {
		h, err := l.SecretLookupByUUID(u)
		if err != nil {
			return "", err
		}
		return l.SecretGetXMLDesc(h, 0)
	})
}

// SecretSpec is a secret DefineSecret creates, always private and
// persistent.
type SecretSpec struct {
	// UsageType is volume, ceph or iscsi; UsageID the volume path, or the
	// name of the ceph/iscsi usage.
	UsageType, UsageID, Description string
	// UUID, when set, is the UUID the secret must have: a disk's XML
	// names it (re-defining a lost secret). DefineSecret then refuses when
	// a secret of that UUID exists, rather than redefine what stowage did
	// not make.
	UUID string
}

// DefineSecret defines a private, persistent secret and sets its value.
// value is never logged nor kept; the caller should clear it afterwards.
// A secret whose value cannot be set is undefined again.
func (c *Conn) DefineSecret(ctx context.Context, s SecretSpec, value []byte) (string, error) {
	if err := c.refuseUnsafeSecret(fmt.Sprintf("define %s secret %q", s.UsageType, s.UsageID)); err != nil {
		return "", err
	}
	x := libvirtxml.Secret{Ephemeral: "no", Private: "yes", Description: s.Description, UUID: s.UUID, Usage: &libvirtxml.SecretUsage{Type: s.UsageType}}
	switch s.UsageType {
	case "volume":
		x.Usage.Volume = s.UsageID
	case "iscsi":
		x.Usage.Target = s.UsageID
	default:
		x.Usage.Name = s.UsageID
	}
	doc, err := x.Marshal()
	if err != nil {
		return "", fmt.Errorf("secret XML: %w", err)
	}
	what := fmt.Sprintf("define %s secret %q", s.UsageType, s.UsageID)
	return call(ctx, c, what, func(l *libvirt.Libvirt) (string, error) {
		if s.UUID != "" {
			u, err := ParseUUID(s.UUID)
			if err != nil {
				return "", err
			}
			if _, err := l.SecretLookupByUUID(u); err == nil {
				return "", fmt.Errorf("secret %s exists already (another admin may have defined it): %w", s.UUID, model.ErrNotTheSame)
			} else if !IsNotFound(err) {
				return "", err
			}
		}
		h, err := l.SecretDefineXML(doc, 0)
		if err != nil {
			return "", err
		}
		if err := l.SecretSetValue(h, value, 0); err != nil {
			_ = l.SecretUndefine(h)
			return "", fmt.Errorf("set its value: %w", err)
		}
		return FormatUUID(h.UUID), nil
	})
}

// UndefineSecret removes a secret by UUID; a secret already gone is fine.
func (c *Conn) UndefineSecret(ctx context.Context, uuid string) error {
	u, err := ParseUUID(uuid)
	if err != nil {
		return err
	}
	err = c.do(ctx, "undefine secret "+uuid, func(l *libvirt.Libvirt) error {
		h, err := l.SecretLookupByUUID(u)
		if err != nil {
			return err
		}
		return l.SecretUndefine(h)
	})
	if IsNotFound(err) {
		return nil
	}
	return err
}

// DefineLostSecret re-defines a secret a disk still names: private,
// persistent, with that UUID and usage and the value given (never logged
// nor kept; the caller clears it). It refuses, with model.ErrNotTheSame,
// when a secret of that UUID exists.
func (c *Conn) DefineLostSecret(ctx context.Context, uuid, usageType, usageID string, value []byte) error {
	_, err := c.DefineSecret(ctx, SecretSpec{UUID: uuid, UsageType: usageType, UsageID: usageID,
		Description: "re-defined by stowage doctor"}, value)
	return err
}
