package libvirtx

// Discovery for the define-pool form and `stowage pool sources`: NFS
// exports, volume groups (iscsi.go: VolumeGroups) and iSCSI targets
// (iscsi.go: FindISCSITargets) through find-storage-pool-sources, and the
// host's block devices through its node devices. Every call is bounded by
// the connection's timeout. find-storage-pool-sources is never called for
// iscsi-direct: libvirtd 9.0 crashes on it (iscsi-direct offers the
// targets an iscsi discovery returns instead).

import (
	"context"
	"encoding/xml"
	"fmt"
	"sort"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"stowage/model"
)

// FindNFSExports lists the exports of an NFS server as the hypervisor
// sees them (virsh find-storage-pool-sources-as netfs HOST).
func (c *Conn) FindNFSExports(ctx context.Context, host string) ([]model.NFSExport, error) {
	if err := model.ValidateHost(host); err != nil {
		return nil, err
	}
	b, err := xml.Marshal(struct {
		XMLName xml.Name `xml:"source"`
		libvirtxml.StoragePoolSource
	}{StoragePoolSource: libvirtxml.StoragePoolSource{Host: []libvirtxml.StoragePoolSourceHost{{Name: host}}}})
	if err != nil {
		return nil, fmt.Errorf("discovery request: %w", err)
	}
	out, err := call(ctx, c, "discover the NFS exports of "+host, func(l *libvirt.Libvirt) (string, error) {
		return l.ConnectFindStoragePoolSources("netfs", libvirt.OptString{string(b)}, 0)
	})
	if err != nil {
		return nil, err
	}
	var ps poolSources
	if err := xml.Unmarshal([]byte(out), &ps); err != nil {
		return nil, fmt.Errorf("parse discovery result: %w", err)
	}
	var ex []model.NFSExport
	for _, s := range ps.Sources {
		if s.Dir == nil {
			continue
		}
		h := host
		if len(s.Host) > 0 && s.Host[0].Name != "" {
			h = s.Host[0].Name
		}
		ex = append(ex, model.NFSExport{Host: h, Path: s.Dir.Path})
	}
	sort.Slice(ex, func(i, j int) bool { return ex[i].Path < ex[j].Path })
	return ex, nil
}

// BlockDevices lists the host's block devices (node devices with the
// storage capability), sorted by path.
func (c *Conn) BlockDevices(ctx context.Context) ([]model.BlockDevice, error) {
	docs, err := call(ctx, c, "list the host's block devices", func(l *libvirt.Libvirt) ([]string, error) {
		devs, _, err := l.ConnectListAllNodeDevices(1, uint32(libvirt.ConnectListNodeDevicesCapStorage))
		if err != nil {
			return nil, err
		}
		var out []string
		for _, d := range devs {
			doc, err := l.NodeDeviceGetXMLDesc(d.Name, 0)
			if IsNotFound(err) {
				continue // unplugged meanwhile
			}
			if err != nil {
				return nil, fmt.Errorf("node device %s: %w", d.Name, err)
			}
			out = append(out, doc)
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	var bd []model.BlockDevice
	for _, doc := range docs {
		d, ok, err := BlockDeviceFromXML(doc)
		if err != nil {
			return nil, err
		}
		if ok {
			bd = append(bd, d)
		}
	}
	sort.Slice(bd, func(i, j int) bool { return bd[i].Path < bd[j].Path })
	return bd, nil
}

// BlockDeviceFromXML reads a node device's storage capability; ok is
// false for a device without one (or without a block path).
func BlockDeviceFromXML(doc string) (model.BlockDevice, bool, error) {
	var x libvirtxml.NodeDevice
	if err := x.Unmarshal(doc); err != nil {
		return model.BlockDevice{}, false, fmt.Errorf("parse node device XML: %w", err)
	}
	st := x.Capability.Storage
	if st == nil || st.Block == "" {
		return model.BlockDevice{}, false, nil
	}
	d := model.BlockDevice{Path: st.Block, Model: st.Model, Vendor: st.Vendor, Serial: st.Serial}
	if st.Size != nil {
		d.Size = uint64(*st.Size)
	}
	return d, true, nil
}
