package libvirtx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"stowage/model"
)

// DiskXML renders a model.DiskSpec as a <disk> element.
func DiskXML(s model.DiskSpec) (string, error) {
	d := diskElement(s)
	return d.Marshal()
}

func diskElement(s model.DiskSpec) libvirtxml.DomainDisk {
	format := s.Format
	if format == "" {
		format = "raw"
	}
	d := libvirtxml.DomainDisk{
		Device: "disk",
		Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: format},
		Target: &libvirtxml.DomainDiskTarget{Dev: s.Target, Bus: "virtio"},
		Source: &libvirtxml.DomainDiskSource{},
	}
	switch {
	case s.RBD != "":
		n := &libvirtxml.DomainDiskSourceNetwork{Protocol: "rbd", Name: s.RBD}
		for _, m := range s.Monitors {
			h := libvirtxml.DomainDiskSourceHost{Name: m}
			if host, port, ok := strings.Cut(m, ":"); ok && !strings.Contains(port, ":") {
				h.Name, h.Port = host, port
			}
			n.Hosts = append(n.Hosts, h)
		}
		if s.AuthUser != "" {
			n.Auth = &libvirtxml.DomainDiskAuth{Username: s.AuthUser,
				Secret: &libvirtxml.DomainDiskSecret{Type: "ceph", UUID: s.AuthSecretUUID}}
		}
		d.Source.Network = n
	case s.Block:
		d.Source.Block = &libvirtxml.DomainDiskSourceBlock{Dev: s.Path}
	default:
		d.Source.File = &libvirtxml.DomainDiskSourceFile{File: s.Path}
	}
	if e := s.Encryption; e != nil {
		engine := e.Engine
		if engine == "qemu" {
			engine = ""
		}
		d.Source.Encryption = &libvirtxml.DomainDiskEncryption{Format: e.Format, Engine: engine,
			Secrets: []libvirtxml.DomainDiskSecret{{Type: "passphrase", UUID: e.SecretUUID}}}
	}
	return d
}

// Domain reads a VM and its disks, from the live XML when it runs (or
// inactive is false) and the persistent config when inactive is true.
func (c *Conn) Domain(ctx context.Context, name string, inactive bool) (model.Domain, error) {
	type info struct {
		xml        string
		state      int32
		persistent int32
	}
	in, err := call(ctx, c, fmt.Sprintf("read VM %q", name), func(l *libvirt.Libvirt) (info, error) {
		var in info
		d, err := l.DomainLookupByName(name)
		if err != nil {
			return in, err
		}
		if in.state, _, err = l.DomainGetState(d, 0); err != nil {
			return in, err
		}
		if in.persistent, err = l.DomainIsPersistent(d); err != nil {
			return in, err
		}
		var flags libvirt.DomainXMLFlags
		if inactive {
			flags = libvirt.DomainXMLInactive
		}
		in.xml, err = l.DomainGetXMLDesc(d, flags)
		return in, err
	})
	if err != nil {
		return model.Domain{}, err
	}
	dom, err := DomainFromXML(in.xml)
	if err != nil {
		return dom, fmt.Errorf("read VM %q: %w", name, err)
	}
	dom.State = domainState(libvirt.DomainState(in.state))
	dom.Persistent = in.persistent == 1
	return dom, nil
}

// DomainXMLDesc returns a VM's live (inactive false) or persistent XML.
func (c *Conn) DomainXMLDesc(ctx context.Context, name string, inactive bool) (string, error) {
	return call(ctx, c, fmt.Sprintf("read the XML of VM %q", name), func(l *libvirt.Libvirt) (string, error) {
		d, err := l.DomainLookupByName(name)
		if err != nil {
			return "", err
		}
		var flags libvirt.DomainXMLFlags
		if inactive {
			flags = libvirt.DomainXMLInactive
		}
		return l.DomainGetXMLDesc(d, flags)
	})
}

func domainState(s libvirt.DomainState) string {
	switch s {
	case libvirt.DomainRunning:
		return "running"
	case libvirt.DomainBlocked:
		return "blocked"
	case libvirt.DomainPaused:
		return "paused"
	case libvirt.DomainShutdown:
		return "shutting-down"
	case libvirt.DomainShutoff:
		return "shut-off"
	case libvirt.DomainCrashed:
		return "crashed"
	case libvirt.DomainPmsuspended:
		return "suspended"
	}
	return "unknown"
}

// ErrLibrbdHotplug marks libvirt's failure to hot-plug a disk decrypted by
// librbd (verified on libvirt 9.0: "No secret with id
// '…-format-encryption-secret0'"): the persistent config works, the live
// domain does not.
var ErrLibrbdHotplug = errors.New("this libvirt cannot hot-plug a disk decrypted by librbd")

// AttachDisk attaches a disk to a VM's live domain and/or its persistent
// config in one call.
func (c *Conn) AttachDisk(ctx context.Context, vm string, s model.DiskSpec, live, persistent bool) error {
	doc, err := DiskXML(s)
	if err != nil {
		return err
	}
	var flags libvirt.DomainDeviceModifyFlags
	if live {
		flags |= libvirt.DomainDeviceModifyLive
	}
	if persistent {
		flags |= libvirt.DomainDeviceModifyConfig
	}
	if flags == 0 {
		return fmt.Errorf("attach %s to %s: neither live nor persistent asked", s.Target, vm)
	}
	err = c.do(ctx, fmt.Sprintf("attach %s to VM %q", s.Target, vm), func(l *libvirt.Libvirt) error {
		d, err := l.DomainLookupByName(vm)
		if err != nil {
			return err
		}
		return l.DomainAttachDeviceFlags(d, doc, uint32(flags))
	})
	if err != nil && live && s.Encryption != nil && s.Encryption.Engine == "librbd" &&
		strings.Contains(err.Error(), "format-encryption-secret") {
		return fmt.Errorf("%w: %w", ErrLibrbdHotplug, err)
	}
	return err
}

// DetachDisk removes the disk with target dev from the live domain and/or
// the persistent config, each from its own XML (the live disk carries an
// alias and address the config does not). wait bounds how long a live
// unplug is awaited.
func (c *Conn) DetachDisk(ctx context.Context, vm, target string, live, persistent bool, wait time.Duration) (model.DetachResult, error) {
	var res model.DetachResult
	for _, pass := range []struct {
		on       bool
		inactive bool
		flag     libvirt.DomainDeviceModifyFlags
	}{{live, false, libvirt.DomainDeviceModifyLive}, {persistent, true, libvirt.DomainDeviceModifyConfig}} {
		if !pass.on {
			continue
		}
		doc, found, err := c.diskXMLOf(ctx, vm, target, pass.inactive)
		if err != nil {
			return res, err
		}
		if !found {
			continue
		}
		err = c.do(ctx, fmt.Sprintf("detach %s from VM %q", target, vm), func(l *libvirt.Libvirt) error {
			d, err := l.DomainLookupByName(vm)
			if err != nil {
				return err
			}
			return l.DomainDetachDeviceFlags(d, doc, uint32(pass.flag))
		})
		if err != nil {
			return res, err
		}
		if !pass.inactive {
			gone, err := c.waitDiskGone(ctx, vm, target, wait)
			if err != nil {
				return res, err
			}
			res.LivePending = !gone
		}
	}
	return res, nil
}

func (c *Conn) diskXMLOf(ctx context.Context, vm, target string, inactive bool) (string, bool, error) {
	doc, err := c.DomainXMLDesc(ctx, vm, inactive)
	if err != nil {
		return "", false, err
	}
	var x libvirtxml.Domain
	if err := x.Unmarshal(doc); err != nil {
		return "", false, fmt.Errorf("parse the XML of VM %q: %w", vm, err)
	}
	if x.Devices == nil {
		return "", false, nil
	}
	for _, d := range x.Devices.Disks {
		if d.Target != nil && d.Target.Dev == target {
			out, err := d.Marshal()
			return out, err == nil, err
		}
	}
	return "", false, nil
}

// waitDiskGone polls the live XML until the disk is gone or wait passes.
// libvirt itself waits about 5 s for the guest before returning.
func (c *Conn) waitDiskGone(ctx context.Context, vm, target string, wait time.Duration) (bool, error) {
	deadline := time.Now().Add(wait)
	for {
		_, found, err := c.diskXMLOf(ctx, vm, target, false)
		if err != nil || !found {
			return !found, err
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// StartDomain starts a defined VM.
func (c *Conn) StartDomain(ctx context.Context, vm string) error {
	return c.do(ctx, fmt.Sprintf("start VM %q", vm), func(l *libvirt.Libvirt) error {
		d, err := l.DomainLookupByName(vm)
		if err != nil {
			return err
		}
		return l.DomainCreate(d)
	})
}

// DestroyDomain forces a VM off, like `virsh destroy`.
func (c *Conn) DestroyDomain(ctx context.Context, vm string) error {
	return c.do(ctx, fmt.Sprintf("force off VM %q", vm), func(l *libvirt.Libvirt) error {
		d, err := l.DomainLookupByName(vm)
		if err != nil {
			return err
		}
		return l.DomainDestroy(d)
	})
}
