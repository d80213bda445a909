package libvirtx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"stowage/model"
)

// CopyDecrypted copies the decrypted contents of disk from to disk to
// (both librbd-encrypted RBD images, each with its own passphrase secret)
// inside libvirt, so that neither passphrase leaves it: a transient
// helper domain, started PAUSED (no guest code ever runs), has both
// disks; QEMU's blockdev-backup copies the first onto the second, each
// decrypted and encrypted by librbd with its own secret. progress gets
// bytes done of total; the helper is destroyed before it returns.
//
// Why a helper: libvirt 9.0's blockcopy (and hot-plug) of a
// librbd-encrypted target fails ("No secret with id
// '…-format-encryption-secret0'"), while a domain started with the disks
// works. Both disks are cache='none' (QEMU turns librbd's cache off), so
// what the job wrote is in Ceph when it concludes.
func (c *Conn) CopyDecrypted(ctx context.Context, from, to model.DiskSpec, within, interval time.Duration, progress func(done, total uint64)) error {
	doc, name, err := helperDomainXML(from, to)
	if err != nil {
		return err
	}
	what := "copy " + from.RBD + " to " + to.RBD
	dom, err := call(ctx, c, what+": start the helper domain", func(l *libvirt.Libvirt) (libvirt.Domain, error) {
		return l.DomainCreateXML(doc, libvirt.DomainStartPaused)
	})
	if err != nil {
		return fmt.Errorf("%s: start the paused helper domain %s: %w", what, name, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		_ = c.do(dctx, "destroy helper domain "+name, func(l *libvirt.Libvirt) error { return l.DomainDestroy(dom) })
	}()
	qmp := func(cmd string, args any) (json.RawMessage, error) {
		req, err := json.Marshal(map[string]any{"execute": cmd, "arguments": args})
		if err != nil {
			return nil, err
		}
		if args == nil {
			req, _ = json.Marshal(map[string]any{"execute": cmd})
		}
		out, err := call(ctx, c, what+": "+cmd, func(l *libvirt.Libvirt) (string, error) {
			return l.QEMUDomainMonitorCommand(dom, string(req), 0)
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", what, cmd, err)
		}
		var r struct {
			Return json.RawMessage `json:"return"`
			Error  *struct {
				Desc string `json:"desc"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", what, cmd, err)
		}
		if r.Error != nil {
			return nil, fmt.Errorf("%s: %s: %s", what, cmd, r.Error.Desc)
		}
		return r.Return, nil
	}
	src, dst, err := helperNodes(qmp)
	if err != nil {
		return err
	}
	job := "stowage-copy"
	if _, err := qmp("blockdev-backup", map[string]any{"job-id": job, "device": src, "target": dst,
		"sync": "full", "auto-finalize": true, "auto-dismiss": false}); err != nil {
		return err
	}
	deadline := time.Now().Add(within)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		raw, err := qmp("query-jobs", nil)
		if err != nil {
			return err
		}
		var jobs []struct {
			ID      string `json:"id"`
			Status  string `json:"status"`
			Current uint64 `json:"current-progress"`
			Total   uint64 `json:"total-progress"`
			Error   string `json:"error"`
		}
		if err := json.Unmarshal(raw, &jobs); err != nil {
			return fmt.Errorf("%s: query-jobs: %w", what, err)
		}
		for _, j := range jobs {
			if j.ID != job {
				continue
			}
			if progress != nil && j.Total > 0 {
				progress(j.Current, j.Total)
			}
			if j.Status == "concluded" || j.Status == "null" {
				_, _ = qmp("job-dismiss", map[string]any{"id": job})
				if j.Error != "" {
					return fmt.Errorf("%s: the copy job failed: %s", what, j.Error)
				}
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not done within %s: %w", what, within, model.ErrTimeout)
		}
		<-t.C
	}
}

// helperNodes finds the block nodes of the helper's first disk (vda, the
// source) and second (vdb, the target) by their devices: libvirt numbers
// its nodes in an order of its own.
func helperNodes(qmp func(string, any) (json.RawMessage, error)) (src, dst string, err error) {
	raw, err := qmp("query-block", nil)
	if err != nil {
		return "", "", err
	}
	var blocks []struct {
		QDev     string `json:"qdev"`
		Inserted *struct {
			NodeName string `json:"node-name"`
		} `json:"inserted"`
	}
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return "", "", fmt.Errorf("query-block: %w", err)
	}
	for _, b := range blocks {
		if b.Inserted == nil {
			continue
		}
		switch {
		case strings.Contains(b.QDev, "virtio-disk0"):
			src = b.Inserted.NodeName
		case strings.Contains(b.QDev, "virtio-disk1"):
			dst = b.Inserted.NodeName
		}
	}
	if src == "" || dst == "" {
		return "", "", errors.New("the helper domain's block nodes were not found (query-block)")
	}
	return src, dst, nil
}

// helperDomainXML is a paused, diskless-boot transient domain with the
// source (read-only) as vda and the target as vdb.
func helperDomainXML(from, to model.DiskSpec) (doc, name string, err error) {
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", "", err
	}
	name = "stowage-reencrypt-" + hex.EncodeToString(rnd[:])
	from.Target, to.Target = "vda", "vdb"
	a, b := diskElement(from), diskElement(to)
	a.ReadOnly = &libvirtxml.DomainDiskReadOnly{}
	// The copy job writes the target while its (never running) device
	// holds it: the device must share write.
	b.Shareable = &libvirtxml.DomainDiskShareable{}
	for _, d := range []*libvirtxml.DomainDisk{&a, &b} {
		d.Driver.Cache = "none"
	}
	x := libvirtxml.Domain{Type: "qemu", Name: name,
		Description: "stowage: copies " + from.RBD + " to " + to.RBD + " re-encrypted; paused, removed when done",
		Memory:      &libvirtxml.DomainMemory{Value: 64, Unit: "MiB"},
		OS:          &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Type: "hvm"}},
		Devices:     &libvirtxml.DomainDeviceList{Disks: []libvirtxml.DomainDisk{a, b}},
	}
	doc, err = x.Marshal()
	return doc, name, err
}
