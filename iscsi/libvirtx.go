package iscsi

import (
	"stowage/libvirtx"
	"stowage/model"
)

// The one file of iscsi that names libvirtx: *libvirtx.Conn is the
// production Host, and each define step shows the XML libvirtx sends for
// its spec, rendered by the functions that send it.

var _ Host = (*libvirtx.Conn)(nil)

func iscsiPoolXML(s model.ISCSIPoolSpec) (string, error) { return libvirtx.ISCSIPoolXML(s) }

func logicalPoolXML(s model.LogicalPoolSpec) (string, error) { return libvirtx.LogicalPoolXML(s) }
