package libvirtx

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"

	"github.com/digitalocean/go-libvirt"

	"stowage/model"
)

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
func ParsePoolCaps(doc string) (model.PoolCaps, error) {
	var x poolCapsXML
	if err := xml.Unmarshal([]byte(doc), &x); err != nil {
		return model.PoolCaps{}, fmt.Errorf("parse storage pool capabilities: %w", err)
	}
	pc := model.PoolCaps{Known: true, Supported: map[model.PoolType]bool{}}
	for _, p := range x.Pools {
		pc.Supported[model.PoolType(p.Type)] = p.Supported == "yes"
	}
	return pc, nil
}

// PoolCapabilities asks the host which storage backends it has. A driver
// that does not implement the call (ErrNoSupport) yields Known=false and no
// error.
func (c *Conn) PoolCapabilities(ctx context.Context) (model.PoolCaps, error) {
	doc, err := call(ctx, c, "get storage pool capabilities", func(l *libvirt.Libvirt) (string, error) {
		return l.ConnectGetStoragePoolCapabilities(0)
	})
	if err != nil {
		var le libvirt.Error
		if errors.As(err, &le) && libvirt.ErrorNumber(le.Code) == libvirt.ErrNoSupport {
			return model.PoolCaps{}, nil
		}
		return model.PoolCaps{}, err
	}
	return ParsePoolCaps(doc)
}
