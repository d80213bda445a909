package libvirtx

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"stowage/model"
)

// The probes `stowage doctor` makes beyond the inventory. They never
// change what an admin set up, with one exception libvirt imposes and
// ProbeISCSIPool documents: a failed refresh of an iscsi-direct pool stops
// it.

// ProbeISCSIPool reaches for the target of an active iscsi or iscsi-direct
// pool p and says whether the host still reaches it.
//
// iscsi-direct: libvirt holds no session between calls (each refresh logs
// in with libiscsi, lists the LUNs and logs out; QEMU holds its own
// session per disk), so the only way to know whether the target still
// answers is a refresh. Discovery (virConnectFindStoragePoolSources
// iscsi-direct) would not change anything, but libvirt 9.0's libvirtd
// died on it on this project's lab, so it is never used. A refresh that
// fails makes libvirt stop the pool (storagePoolRefreshImpl): that is
// the truth (its LUNs are out of reach) and the backend has no stop hook,
// so no VM's QEMU session is touched; the finding says so and how to
// start it again. A transient pool is not refreshed: libvirt would remove it, and
// with it its definition. A read-only connection refuses the refresh;
// the probe then reports what libvirt last listed.
//
// iscsi (kernel initiator): never refreshed. A failed refresh makes
// libvirt stop the pool, and stopping an iscsi pool logs out of its
// session, which would take the LUNs away from running VMs when the
// refresh failed for a passing reason. Instead the probe compares the
// pool's LUNs (their SCSI keys) with the block devices the host's node
// device list still has: read-only, allowed on a read-only connection.
func (c *Conn) ProbeISCSIPool(ctx context.Context, p model.Pool) model.ISCSIProbe {
	pr := model.ISCSIProbe{Pool: p.Name, Type: p.Type}
	src, err := c.PoolSourceOf(ctx, p.Name)
	if err != nil {
		pr.Call, pr.Answer, pr.NotProbed = fmt.Sprintf("virStoragePoolGetXMLDesc(%s)", p.Name), answer(err), "its definition could not be read"
		return pr
	}
	if len(src.Hosts) > 0 {
		pr.Portal = src.Hosts[0]
	}
	if len(src.Devices) > 0 {
		pr.Target = src.Devices[0]
	}
	if p.Type == model.PoolISCSI {
		return c.probeKernelISCSI(ctx, p, pr)
	}
	if !p.Persistent {
		pr.Call, pr.Answer = fmt.Sprintf("virStoragePoolGetInfo(%s)", p.Name), "active, transient"
		pr.NotProbed = "it is transient, and libvirt removes a transient pool whose refresh fails, so it was not refreshed"
		return pr
	}
	pr.Call = fmt.Sprintf("virStoragePoolRefresh(%s) (logs in to %s at %s)", p.Name, pr.Target, pr.Portal)
	err = c.withPool(ctx, "refresh", p.Name, func(l *libvirt.Libvirt, h libvirt.StoragePool) error {
		return l.StoragePoolRefresh(h, 0)
	})
	switch {
	case err == nil:
		pr.Answer = "refreshed"
		return pr
	case isReadOnlyRefusal(err):
		pr.Answer = answer(err)
		pr.NotProbed = "the read-only connection refuses a refresh, so the target was not reached; libvirt's LUN list is from the pool's last refresh"
		return pr
	case IsNotFound(err):
		pr.Answer, pr.NotProbed = answer(err), "the pool is gone"
		return pr
	}
	pr.Lost, pr.Answer = true, answer(err)
	if active, aerr := c.poolActive(ctx, p.Name); aerr == nil && !active {
		pr.Stopped = true
	}
	return pr
}

func (c *Conn) probeKernelISCSI(ctx context.Context, p model.Pool, pr model.ISCSIProbe) model.ISCSIProbe {
	serials, err := c.blockSerials(ctx)
	if err != nil {
		pr.Call, pr.Answer, pr.NotProbed = "virConnectListAllNodeDevices(storage)", answer(err), "the host's block devices could not be listed"
		return pr
	}
	vols, err := c.Volumes(ctx, p.Name)
	if err != nil {
		pr.Call, pr.Answer, pr.NotProbed = fmt.Sprintf("virStoragePoolListAllVolumes(%s)", p.Name), answer(err), "its LUNs could not be listed"
		return pr
	}
	luns := 0
	for _, v := range vols {
		if _, ok := LUNNumber(v.Name); !ok || v.Key == "" {
			continue
		}
		luns++
		if !serials[v.Key] {
			pr.GoneLUNs = append(pr.GoneLUNs, v.Name)
		}
	}
	slices.Sort(pr.GoneLUNs)
	pr.Call = fmt.Sprintf("virStoragePoolListAllVolumes(%s) and virConnectListAllNodeDevices(storage): the LUNs' SCSI keys against the host's block devices", p.Name)
	pr.Answer = fmt.Sprintf("%d of %d LUNs have no block device on the host", len(pr.GoneLUNs), luns)
	if len(pr.GoneLUNs) > 0 {
		pr.Answer += ": " + strings.Join(pr.GoneLUNs, ", ")
		pr.Lost = true
	}
	return pr
}

// blockSerials lists the SCSI serials (what libvirt uses as an iscsi
// LUN's volume key) of the host's block devices.
func (c *Conn) blockSerials(ctx context.Context) (map[string]bool, error) {
	devs, err := call(ctx, c, "list block devices", func(l *libvirt.Libvirt) ([]libvirt.NodeDevice, error) {
		ds, _, err := l.ConnectListAllNodeDevices(1, uint32(libvirt.ConnectListNodeDevicesCapStorage))
		return ds, err
	})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, d := range devs {
		doc, err := call(ctx, c, "read node device "+d.Name, func(l *libvirt.Libvirt) (string, error) {
			return l.NodeDeviceGetXMLDesc(d.Name, 0)
		})
		if IsNotFound(err) || isNoNodeDevice(err) {
			continue // gone between the list and its XML
		}
		if err != nil {
			return nil, err
		}
		var x libvirtxml.NodeDevice
		if err := x.Unmarshal(doc); err != nil {
			return nil, fmt.Errorf("parse node device %s: %w", d.Name, err)
		}
		if st := x.Capability.Storage; st != nil && st.Serial != "" {
			out[st.Serial] = true
		}
	}
	return out, nil
}

// ProbeVolumeGroups lists the host's volume groups with their physical
// volumes (virConnectFindStoragePoolSources logical, which runs pvs on
// the host): a PV LVM cannot find is listed as model.MissingPV. It changes
// nothing; a read-only connection refuses it.
func (c *Conn) ProbeVolumeGroups(ctx context.Context) model.VGProbe {
	pr := model.VGProbe{Call: "virConnectFindStoragePoolSources(logical) (pvs on the host)"}
	vgs, err := c.VolumeGroups(ctx)
	switch {
	case err == nil:
		pr.VGs = vgs
	case isReadOnlyRefusal(err):
		pr.Err = answer(err)
		pr.NotProbed = "the read-only connection refuses it, so the volume groups' physical volumes were not read"
	default:
		pr.Err = answer(err)
	}
	return pr
}

func (c *Conn) poolActive(ctx context.Context, name string) (bool, error) {
	var active bool
	err := c.withPool(ctx, "read state of", name, func(l *libvirt.Libvirt, h libvirt.StoragePool) error {
		n, err := l.StoragePoolIsActive(h)
		active = n == 1
		return err
	})
	return active, err
}

// answer is libvirt's own message for err (the evidence shows what libvirt
// said, not stowage's wrapping), else err's text.
func answer(err error) string {
	var le libvirt.Error
	if errors.As(err, &le) {
		return le.Message
	}
	return err.Error()
}

// isReadOnlyRefusal: libvirtd refuses a call on a read-only connection
// ("operation forbidden: read only access prevents …").
func isReadOnlyRefusal(err error) bool {
	var le libvirt.Error
	return errors.As(err, &le) && libvirt.ErrorNumber(le.Code) == libvirt.ErrOperationDenied
}

func isNoNodeDevice(err error) bool {
	var le libvirt.Error
	return errors.As(err, &le) && libvirt.ErrorNumber(le.Code) == libvirt.ErrNoNodeDevice
}
