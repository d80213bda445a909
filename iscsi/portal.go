package iscsi

import (
	"net"
	"strconv"

	"stowage/model"
)

// DefaultPort is the iSCSI well-known port (RFC 3720 §13.1).
const DefaultPort = model.DefaultISCSIPort

// Portal is a target's network portal: where sendtargets and logins go.
type Portal struct {
	Host string
	Port int
}

// String renders host:port, bracketing IPv6 addresses.
func (p Portal) String() string {
	return net.JoinHostPort(p.Host, strconv.Itoa(p.Port))
}

// ParsePortal reads "host", "host:port", "[v6addr]", "[v6addr]:port" or a
// bare IPv6 address; the port defaults to 3260 (model.ParsePortal's rules).
func ParsePortal(s string) (Portal, error) {
	host, port, err := model.ParsePortal(s)
	if err != nil {
		return Portal{}, err
	}
	return Portal{Host: host, Port: port}, nil
}
