package drive

import (
	"fmt"

	"stowage/model"
)

// PlaceholderUUID stands for the secret's UUID, which libvirt assigns when
// the secret is defined.
const PlaceholderUUID = "00000000-0000-0000-0000-000000000000"

// Preview is what the admin sees before confirming: the XML stowage will
// send and the equivalent commands. It never contains a passphrase.
type Preview struct {
	SecretXML string   `json:"secret_xml,omitempty"`
	VolumeXML string   `json:"volume_xml,omitempty"`
	DiskXML   string   `json:"disk_xml,omitempty"`
	Commands  []string `json:"commands"`
}

// MakePreview renders a prepared create.
func MakePreview(p Prepared) (Preview, error) {
	s := p.Spec
	var pv Preview
	var err error
	q := commandQuote
	if s.Encrypted() {
		if pv.SecretXML, err = secretXML(p.VolumePath, model.SecretDescription(s.Host, s.Pool, s.Name)); err != nil {
			return pv, err
		}
		pv.Commands = append(pv.Commands,
			"virsh secret-define secret.xml   # prints the new UUID",
			fmt.Sprintf("virsh secret-set-value %s --file PASSPHRASE-FILE   # stowage: 32 random bytes, set through the API, never written", PlaceholderUUID))
	}
	switch {
	case s.PoolType == model.PoolRBD && s.Encrypted():
		size, err := s.AllocatedSize()
		if err != nil {
			return pv, err
		}
		pv.Commands = append(pv.Commands,
			fmt.Sprintf("rbd create --size %dB %s   # %s + the %s header", size, q(p.VolumePath), model.IBytes(s.Size), s.LibrbdFormat()),
			fmt.Sprintf("rbd encryption format %s %s PASSPHRASE-FILE", q(p.VolumePath), s.LibrbdFormat()),
			fmt.Sprintf("virsh pool-refresh %s", q(s.Pool)))
	default:
		vs := model.VolumeSpec{Name: s.Name, Capacity: s.Size, Format: s.Format}
		if s.PoolType == model.PoolRBD {
			vs.Format = ""
		}
		if s.Encrypted() {
			vs.Encryption = &model.Encryption{Format: "luks", SecretUUID: PlaceholderUUID}
		}
		if pv.VolumeXML, err = volumeXML(vs, p.Cipher); err != nil {
			return pv, err
		}
		pv.Commands = append(pv.Commands, fmt.Sprintf("virsh vol-create %s volume.xml", q(s.Pool)))
	}
	if s.AttachVM != "" && p.Target != "" {
		engine := p.LiveEngine
		if !s.Attach.Live {
			engine = "librbd"
		}
		if pv.DiskXML, err = diskXML(p.DiskSpec(PlaceholderUUID, engine)); err != nil {
			return pv, err
		}
		flags := ""
		if s.Attach.Live {
			flags += " --live"
		}
		if s.Attach.Persistent {
			flags += " --config"
		}
		pv.Commands = append(pv.Commands, fmt.Sprintf("virsh attach-device %s disk.xml%s", q(s.AttachVM), flags))
	}
	return pv, nil
}
