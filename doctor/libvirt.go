package doctor

import (
	"fmt"
	"strings"

	"stowage/model"
)

// Thresholds for a pool's fill. At 90% an admin still has time; at 97% a
// thin volume's next writes fail and QEMU pauses its VM (ENOSPC).
const (
	nearlyFullPercent = 90
	fullPercent       = 97
)

// diskRef is one VM disk and where it points.
type diskRef = model.PoolUser

func objectOf(r diskRef, host string) string {
	return fmt.Sprintf("disk %s of VM %s on %s", r.Disk.Target, r.VM.Name, host)
}

// users lists the VM disks whose source is in pool p.
func users(h model.HostInfo, p model.Pool) []diskRef { return model.PoolUsers(h, p) }

func vmNames(rs []diskRef) string {
	var names []string
	seen := map[string]bool{}
	for _, r := range rs {
		if !seen[r.VM.Name] {
			seen[r.VM.Name] = true
			names = append(names, r.VM.Name)
		}
	}
	return strings.Join(names, ", ")
}

func diskList(rs []diskRef) string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s %s → %s", r.VM.Name, r.Disk.Target, r.Disk.Source))
	}
	return strings.Join(out, "; ")
}

// related names the pool, and the VMs and drives of the disks, a finding
// concerns.
func related(p model.Pool, rs []diskRef) []string {
	out := []string{"pool:" + p.Name}
	for _, r := range rs {
		out = append(out, "vm:"+r.VM.Name)
		k := r.Disk
		switch k.SourceType {
		case "volume":
			out = append(out, "drive:"+k.Pool+"/"+k.Volume)
		case "network":
			_, name, _ := strings.Cut(k.Source, ":")
			_, image, _ := strings.Cut(name, "/")
			out = append(out, "drive:"+p.Name+"/"+image)
		default:
			out = append(out, "drive:"+p.Name+"/"+strings.TrimPrefix(k.Source, strings.TrimSuffix(p.TargetPath, "/")+"/"))
		}
	}
	return out
}

// fixCommand is how an admin applies a stowage fix from a shell.
func fixCommand(host string, a model.FixAction) string {
	return fmt.Sprintf("stowage doctor --uri %s --fix %s --confirm %s", Shell(host), Shell(a.Kind+":"+a.Target), Shell(a.Target))
}

func withAction(f model.Finding, a model.FixAction) model.Finding {
	f.Action = &a
	f.Fix = fixCommand(a.Host, a)
	return f
}

// poolsInUse: a pool that is inactive, or will not come back after a
// reboot, while VMs use its volumes.
func poolsInUse(h model.HostInfo) []model.Finding {
	var out []model.Finding
	for _, p := range h.Pools {
		rs := users(h, p.Pool)
		if len(rs) == 0 {
			continue
		}
		object := fmt.Sprintf("pool %s on %s", p.Name, h.URI)
		switch {
		case !p.Active:
			sev, cost := model.SeverityWarning, "stowage and virsh cannot see its volumes, and no drive can be created in it"
			for _, r := range rs {
				if r.Disk.SourceType == "volume" {
					// <source pool=… volume=…> is resolved through the pool at start.
					sev, cost = model.SeverityCritical, "VMs whose disks name the pool will not start"
				}
			}
			out = append(out, withAction(model.Finding{
				Severity: sev, Object: object, Check: "pool.inactive-in-use",
				Message:  fmt.Sprintf("Pool %s is inactive while VM %s use its volumes: %s.", p.Name, vmNames(rs), cost),
				Evidence: fmt.Sprintf("virStoragePoolGetInfo(%s): inactive; domain disks in it: %s", p.Name, diskList(rs)),
				Related:  related(p.Pool, rs),
			}, model.FixAction{Kind: model.FixStartPool, Host: h.URI, Target: p.Name}))
		case p.Persistent && !p.Autostart:
			out = append(out, withAction(model.Finding{
				Severity: model.SeverityWarning, Object: object, Check: "pool.no-autostart-in-use",
				Message:  fmt.Sprintf("Pool %s is not set to autostart while VM %s use its volumes: after a host reboot it stays inactive and those VMs lose sight of their disks.", p.Name, vmNames(rs)),
				Evidence: fmt.Sprintf("virStoragePoolGetAutostart(%s): 0; domain disks in it: %s", p.Name, diskList(rs)),
				Related:  related(p.Pool, rs),
			}, model.FixAction{Kind: model.FixAutostartPool, Host: h.URI, Target: p.Name}))
		}
	}
	return out
}

// volumesGone: a VM disk whose volume is no longer in its (active, fully
// listed) pool. The VM will not start.
func volumesGone(h model.HostInfo) []model.Finding {
	var out []model.Finding
	for _, p := range h.Pools {
		if !p.Active || !p.VolumesLoaded || p.VolumesNotListed > 0 || p.Type == model.PoolISCSI || p.Type == model.PoolISCSIDirect {
			continue
		}
		have := map[string]bool{}
		for _, v := range p.Volumes {
			have[v.Path] = true
			have[p.Name+"/"+v.Name] = true
		}
		for _, r := range users(h, p.Pool) {
			key := r.Disk.Source
			if r.Disk.SourceType == "network" {
				_, key, _ = strings.Cut(key, ":")
			}
			if have[key] {
				continue
			}
			verb := "will not start"
			if r.VM.State == "running" {
				verb = "will not start again once stopped (it runs on an open file that is gone from the pool)"
			}
			out = append(out, model.Finding{
				Severity: model.SeverityCritical, Object: objectOf(r, h.URI), Check: "disk.volume-gone",
				Message:  fmt.Sprintf("Disk %s of VM %s points at %s, which is not in pool %s: the VM %s.", r.Disk.Target, r.VM.Name, r.Disk.Source, p.Name, verb),
				Evidence: fmt.Sprintf("virStoragePoolListAllVolumes(%s): %d volumes, none at %s; virDomainGetXMLDesc(%s): disk %s source %s", p.Name, len(p.Volumes), r.Disk.Source, r.VM.Name, r.Disk.Target, r.Disk.Source),
				Fix:      fmt.Sprintf("restore the volume from a backup, or remove the disk from the VM: virsh -c %s detach-disk %s %s --config", Shell(h.URI), Shell(r.VM.Name), Shell(r.Disk.Target)),
				Related:  related(p.Pool, []diskRef{r}),
			})
		}
	}
	return out
}

// secretUsage is the usage a missing secret had: the volume path for a
// QEMU-layer disk, the cephpool/image for librbd (as stowage defines them).
func secretUsage(k model.Disk) string {
	if k.SourceType == "network" {
		_, name, _ := strings.Cut(k.Source, ":")
		return name
	}
	return k.Source
}

// diskSecrets: an encrypted disk whose secret is gone or has no value.
// The VM will not start, and the disk will not attach.
func diskSecrets(h model.HostInfo) []model.Finding {
	if !h.SecretsKnown {
		return nil
	}
	byUUID := map[string]model.SecretInfo{}
	for _, s := range h.Secrets {
		byUUID[s.UUID] = s
	}
	var out []model.Finding
	for _, d := range h.Domains {
		for _, k := range d.Disks {
			e := k.Encryption
			if e == nil || e.SecretUUID == "" {
				continue
			}
			r := diskRef{VM: d, Disk: k}
			s, ok := byUUID[e.SecretUUID]
			evidence := fmt.Sprintf("virDomainGetXMLDesc(%s): disk %s <encryption format='%s'> secret %s; virConnectListAllSecrets: ", d.Name, k.Target, e.Format, e.SecretUUID)
			var what string
			switch {
			case !ok:
				what, evidence = "is not defined on the host", evidence+"no such secret"
			case s.Value == model.ValueUnset:
				what, evidence = "has no value", evidence+fmt.Sprintf("secret %s defined, virSecretGetValue: no value", s.UUID)
			default:
				continue
			}
			out = append(out, withAction(model.Finding{
				Severity: model.SeverityCritical, Object: objectOf(r, h.URI), Check: "disk.secret-missing",
				Message:  fmt.Sprintf("The secret %s that unlocks disk %s of VM %s %s: the VM will not start and the disk cannot be attached.", e.SecretUUID, k.Target, d.Name, what),
				Evidence: evidence,
				Related:  []string{"vm:" + d.Name, "secret:" + e.SecretUUID},
			}, model.FixAction{Kind: model.FixSetSecret, Host: h.URI, Target: e.SecretUUID,
				Detail: map[string]string{"usage": "volume", "usage_id": secretUsage(k)}}))
		}
	}
	return out
}

// orphanSecrets: volume secrets whose volume is gone (model.Link judged
// them). Harmless, but they pile up and confuse the next admin.
func orphanSecrets(h model.HostInfo) []model.Finding {
	var out []model.Finding
	for _, s := range h.Secrets {
		if s.Orphan == "" {
			continue
		}
		out = append(out, model.Finding{
			Severity: model.SeverityInfo, Object: fmt.Sprintf("secret %s on %s", s.UUID, h.URI), Check: "secret.orphan",
			Message:  fmt.Sprintf("Secret %s belongs to no volume any more (%s): nothing can use it.", s.UUID, s.Orphan),
			Evidence: fmt.Sprintf("virSecretGetXMLDesc(%s): usage volume %s; no pool lists a volume at that path", s.UUID, s.UsageID),
			Fix:      fmt.Sprintf("virsh -c %s secret-undefine %s", Shell(h.URI), Shell(s.UUID)),
			Related:  []string{"secret:" + s.UUID},
		})
	}
	return out
}

// poolFill: a pool nearly full, or whose volumes can grow past it.
func poolFill(h model.HostInfo) []model.Finding {
	var out []model.Finding
	for _, p := range h.Pools {
		// A pool that cannot create volumes (iscsi, scsi, mpath) is its
		// LUNs: always "full", and nothing grows in it.
		if creates, _ := model.CreateAbility(p.Type, true); !p.Active || p.Capacity == 0 || !creates {
			continue
		}
		object := fmt.Sprintf("pool %s on %s", p.Name, h.URI)
		used := 100 * float64(p.Capacity-min(p.Available, p.Capacity)) / float64(p.Capacity)
		evidence := fmt.Sprintf("virStoragePoolGetInfo(%s): capacity %d, allocation %d, available %d bytes", p.Name, p.Capacity, p.Allocation, p.Available)
		if used >= nearlyFullPercent {
			sev, cost := model.SeverityWarning, "new drives may not fit, and thin drives will soon fail their writes"
			if used >= fullPercent {
				sev, cost = model.SeverityCritical, "a thin drive's next writes fail and QEMU pauses its VM"
			}
			out = append(out, model.Finding{
				Severity: sev, Object: object, Check: "pool.nearly-full",
				Message:  fmt.Sprintf("Pool %s is %.0f%% full: %s.", p.Name, used, cost),
				Evidence: evidence,
				Fix:      "free space in the pool (delete unused drives) or grow its storage",
				Related:  []string{"pool:" + p.Name},
			})
		}
		if !p.VolumesLoaded {
			continue
		}
		var promised uint64
		for _, v := range p.Volumes {
			promised += v.Capacity
		}
		if promised > p.Capacity {
			out = append(out, model.Finding{
				Severity: model.SeverityWarning, Object: object, Check: "pool.overcommitted",
				Message:  fmt.Sprintf("Pool %s is over-committed: its %d volumes may grow to %.0f%% of its capacity, so the pool fills before they do and their VMs pause.", p.Name, len(p.Volumes), 100*float64(promised)/float64(p.Capacity)),
				Evidence: fmt.Sprintf("%s; sum of the volumes' capacities %d bytes", evidence, promised),
				Fix:      "grow the pool's storage, or move drives to another pool",
				Related:  []string{"pool:" + p.Name},
			})
		}
	}
	return out
}

// librbdHotplug: librbd-encrypted drives no VM uses yet, on a libvirt
// that cannot hot-plug them (model.LibrbdHotplugBroken): attaching one to
// a running VM fails there, so say so before the admin tries.
func librbdHotplug(h model.HostInfo) []model.Finding {
	if !model.LibrbdHotplugBroken(h.LibvirtVersion) {
		return nil
	}
	var out []model.Finding
	for _, p := range h.Pools {
		for _, v := range p.Volumes {
			e := v.DiskEncryption
			if e == nil || e.Engine != "librbd" || len(v.AttachedTo) > 0 {
				continue
			}
			out = append(out, model.Finding{
				Severity: model.SeverityInfo, Object: fmt.Sprintf("drive %s/%s on %s", p.Name, v.Name, h.URI), Check: "rbd.librbd-hotplug",
				Message:  fmt.Sprintf("Drive %s is decrypted by librbd, which libvirt %s cannot hot-plug: attaching it to a running VM fails; attach it to a stopped VM, or to the VM's config and restart it.", v.Name, h.LibvirtVersion),
				Evidence: fmt.Sprintf("virConnectGetLibVersion: %s; secret %s (usage %s) marks the image librbd-encrypted", h.LibvirtVersion, e.SecretUUID, v.Path),
				Fix:      fmt.Sprintf("stowage drive attach --uri %s --pool %s --name %s --vm VM (it offers the cold path)", Shell(h.URI), Shell(p.Name), Shell(v.Name)),
				Related:  []string{"pool:" + p.Name, "drive:" + p.Name + "/" + v.Name},
			})
		}
	}
	return out
}

// Libvirt runs every check that needs only a host's inventory. Pure: the
// same inventory gives the same findings, sorted most severe first.
func Libvirt(h model.HostInfo) []model.Finding {
	var out []model.Finding
	for _, check := range []func(model.HostInfo) []model.Finding{
		poolsInUse, volumesGone, diskSecrets, orphanSecrets, poolFill, librbdHotplug,
	} {
		out = append(out, check(h)...)
	}
	model.SortFindings(out)
	return out
}
