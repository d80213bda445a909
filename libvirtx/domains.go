package libvirtx

import (
	"context"
	"fmt"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"stowage/model"
)

// domainStates names libvirt's virDomainState values as virsh does.
var domainStates = map[libvirt.DomainState]string{
	libvirt.DomainNostate:     "no state",
	libvirt.DomainRunning:     "running",
	libvirt.DomainBlocked:     "idle",
	libvirt.DomainPaused:      "paused",
	libvirt.DomainShutdown:    "in shutdown",
	libvirt.DomainShutoff:     "shut off",
	libvirt.DomainCrashed:     "crashed",
	libvirt.DomainPmsuspended: "pmsuspended",
}

// DomainXML returns a domain's live XML description.
func (c *Conn) DomainXML(ctx context.Context, name string) (string, error) {
	return call(ctx, c, fmt.Sprintf("read domain %q", name), func(l *libvirt.Libvirt) (string, error) {
		d, err := l.DomainLookupByName(name)
		if err != nil {
			return "", err
		}
		return l.DomainGetXMLDesc(d, 0)
	})
}

// Domains lists every domain (running or not) with its state and disks:
// one list call, then XML, state and persistence per domain, pipelined.
func (c *Conn) Domains(ctx context.Context) ([]model.Domain, error) {
	handles, err := call(ctx, c, "list domains", func(l *libvirt.Libvirt) ([]libvirt.Domain, error) {
		ds, _, err := l.ConnectListAllDomains(1, 0)
		return ds, err
	})
	if err != nil {
		return nil, err
	}
	out := make([]model.Domain, len(handles))
	errs := make([]error, len(handles))
	parallel(len(handles), 16, func(i int) {
		out[i], errs[i] = c.domain(ctx, handles[i])
	})
	return keepFound(out, errs, func(d model.Domain) bool { return d.Name != "" })
}

func (c *Conn) domain(ctx context.Context, h libvirt.Domain) (model.Domain, error) {
	what := fmt.Sprintf("read domain %q", h.Name)
	var doc string
	var state int32
	var pers int32
	errs := make([]error, 3)
	parallel(3, 3, func(i int) {
		switch i {
		case 0:
			doc, errs[0] = call(ctx, c, what, func(l *libvirt.Libvirt) (string, error) { return l.DomainGetXMLDesc(h, 0) })
		case 1:
			state, errs[1] = call(ctx, c, what, func(l *libvirt.Libvirt) (int32, error) {
				s, _, err := l.DomainGetState(h, 0)
				return s, err
			})
		case 2:
			pers, errs[2] = call(ctx, c, what, func(l *libvirt.Libvirt) (int32, error) { return l.DomainIsPersistent(h) })
		}
	})
	for _, err := range errs {
		if err != nil {
			return model.Domain{}, err
		}
	}
	d, err := DomainFromXML(doc)
	if err != nil {
		return d, fmt.Errorf("%s: %w", what, err)
	}
	d.State = domainStates[libvirt.DomainState(state)]
	d.Persistent = pers == 1
	return d, nil
}

// DomainFromXML parses a domain's XML into its name, UUID and disks; state
// and persistence are left unset.
func DomainFromXML(doc string) (model.Domain, error) {
	var x libvirtxml.Domain
	if err := x.Unmarshal(doc); err != nil {
		return model.Domain{}, fmt.Errorf("parse domain XML: %w", err)
	}
	d := model.Domain{Name: x.Name, UUID: x.UUID, Disks: []model.Disk{}}
	if x.Devices == nil {
		return d, nil
	}
	for _, xd := range x.Devices.Disks {
		d.Disks = append(d.Disks, diskFromXML(xd))
	}
	return d, nil
}

func diskFromXML(xd libvirtxml.DomainDisk) model.Disk {
	k := model.Disk{Device: xd.Device}
	if k.Device == "" {
		k.Device = "disk"
	}
	if t := xd.Target; t != nil {
		k.Target, k.Bus = t.Dev, t.Bus
	}
	// Encryption sits either on the disk (QEMU's block layer) or, for
	// engine='librbd', inside <source>.
	enc := xd.Encryption
	if s := xd.Source; s != nil {
		switch {
		case s.File != nil:
			k.SourceType, k.Source = "file", s.File.File
		case s.Block != nil:
			k.SourceType, k.Source = "block", s.Block.Dev
		case s.Volume != nil:
			k.SourceType, k.Pool, k.Volume = "volume", s.Volume.Pool, s.Volume.Volume
			k.Source = s.Volume.Pool + "/" + s.Volume.Volume
		case s.Network != nil:
			k.SourceType, k.Source = "network", s.Network.Protocol+":"+s.Network.Name
		case s.Dir != nil:
			k.SourceType, k.Source = "dir", s.Dir.Dir
		}
		if s.Encryption != nil {
			enc = s.Encryption
		}
	}
	if enc != nil {
		k.Encryption = &model.Encryption{Format: enc.Format, Engine: enc.Engine}
		if k.Encryption.Engine == "" {
			k.Encryption.Engine = "qemu"
		}
		for _, s := range enc.Secrets {
			if s.UUID != "" {
				k.Encryption.SecretUUID = s.UUID
			}
		}
	}
	return k
}

// keepFound drops objects that vanished between a list call and their
// detail call (libvirt's not-found), and fails on any other error.
func keepFound[T any](items []T, errs []error, ok func(T) bool) ([]T, error) {
	out := items[:0]
	for i, err := range errs {
		if err != nil && !IsNotFound(err) {
			return nil, err
		}
		if err == nil && ok(items[i]) {
			out = append(out, items[i])
		}
	}
	return out, nil
}
