package libvirtx

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"

	"github.com/digitalocean/go-libvirt"

	"stowage/model"
)

// PoolCaps is the host's own answer to "which storage backends are compiled
// in" (virConnectGetStoragePoolCapabilities).
type PoolCaps struct {
	// Known is false when the host cannot tell (libvirt's test driver does
	// not implement the call): every backend is then treated as present,
	// and CreateReason says so.
	Known     bool
	Supported map[model.PoolType]bool
}

// poolCapsXML is the <storagepoolCapabilities> document. libvirtxml
// v1.12007.0 has no type for it, so the two attributes stowage reads are
// declared here (parsing only; nothing is ever built from this struct).
type poolCapsXML struct {
	XMLName xml.Name `xml:"storagepoolCapabilities"`
	Pools   []struct {
		Type      string `xml:"type,attr"`
		Supported string `xml:"supported,attr"`
	} `xml:"pool"`
}

// ParsePoolCaps parses a <storagepoolCapabilities> document.
func ParsePoolCaps(doc string) (PoolCaps, error) {
	var x poolCapsXML
	if err := xml.Unmarshal([]byte(doc), &x); err != nil {
		return PoolCaps{}, fmt.Errorf("parse storage pool capabilities: %w", err)
	}
	pc := PoolCaps{Known: true, Supported: map[model.PoolType]bool{}}
	for _, p := range x.Pools {
		pc.Supported[model.PoolType(p.Type)] = p.Supported == "yes"
	}
	return pc, nil
}

// PoolCapabilities asks the host which storage backends it has. A driver
// that does not implement the call (ErrNoSupport) yields Known=false and no
// error.
func (c *Conn) PoolCapabilities(ctx context.Context) (PoolCaps, error) {
	doc, err := call(ctx, c, "get storage pool capabilities", func(l *libvirt.Libvirt) (string, error) {
		return l.ConnectGetStoragePoolCapabilities(0)
	})
	if err != nil {
		var le libvirt.Error
		if errors.As(err, &le) && libvirt.ErrorNumber(le.Code) == libvirt.ErrNoSupport {
			return PoolCaps{}, nil
		}
		return PoolCaps{}, err
	}
	return ParsePoolCaps(doc)
}

// CreateAbility combines the host's backends with what each backend can do
// (model.CreateAbility). When the host could not tell, the reason says the
// backend was assumed present.
func (pc PoolCaps) CreateAbility(t model.PoolType) (bool, string) {
	present := true
	if pc.Known {
		present = pc.Supported[t]
	}
	ok, why := model.CreateAbility(t, present)
	if !pc.Known {
		why += " (this host does not report pool capabilities; backend assumed present)"
	}
	return ok, why
}
