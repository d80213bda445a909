package drive

import (
	"stowage/libvirtx"
	"stowage/model"
)

// The one file of drive that names libvirtx: *libvirtx.Conn is the
// production Libvirt, and a preview shows the XML libvirtx will send for
// the same specs, rendered by the functions that send it.

var (
	_ Libvirt = (*libvirtx.Conn)(nil)
	_ Cloner  = (*libvirtx.Conn)(nil)
)

func secretXML(usage, description string) (string, error) {
	return libvirtx.VolumeSecretXML(usage, description)
}

func volumeXML(s model.VolumeSpec, ci *model.Cipher) (string, error) {
	return libvirtx.VolumeXMLWithCipher(s, ci)
}

func diskXML(s model.DiskSpec) (string, error) { return libvirtx.DiskXML(s) }

var _ Transfers = (*libvirtx.Conn)(nil)
