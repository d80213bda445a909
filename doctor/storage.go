package doctor

import (
	"fmt"
	"slices"
	"strings"

	"stowage/model"
)

// The checks that need probes beyond the inventory (the caller makes them:
// libvirtx.Conn.ProbeISCSIPool, ProbeVolumeGroups). Pure over what the
// probes returned.

// ISCSISessions: an active iscsi or iscsi-direct pool whose target the
// host no longer reaches (iscsi-direct: the refresh could not log in;
// iscsi: its LUNs' block devices are gone, the session logged out or the
// LUNs removed). VMs using its LUNs lose their disks.
func ISCSISessions(h model.HostInfo, probes []model.ISCSIProbe) []model.Finding {
	var out []model.Finding
	for _, pr := range probes {
		p, ok := poolNamed(h, pr.Pool)
		if !ok {
			continue
		}
		object := fmt.Sprintf("pool %s on %s", pr.Pool, h.URI)
		rs := users(h, p.Pool)
		if pr.Type == model.PoolISCSI && pr.Target != "" {
			// Every kernel iscsi pool's target path is /dev/disk/by-path:
			// keep the disks on this pool's target.
			rs = slices.DeleteFunc(rs, func(r diskRef) bool { return !strings.Contains(r.Disk.Source, "-iscsi-"+pr.Target+"-lun-") })
		}
		evidence := pr.Call + ": " + pr.Answer
		if pr.NotProbed != "" {
			// What can be read without reaching the target: libvirt's list
			// from the pool's last refresh.
			evidence += fmt.Sprintf("; what libvirt still lists: pool active, %d volumes as of its last refresh", len(p.Volumes))
			out = append(out, model.Finding{
				Severity: model.SeverityInfo, Object: object, Check: "pool.iscsi-unprobed",
				Message:  fmt.Sprintf("The iSCSI session of pool %s was not checked: %s.", pr.Pool, pr.NotProbed),
				Evidence: evidence,
				Fix:      notProbedFix(h.URI, pr),
				Related:  related(p.Pool, rs),
			})
			continue
		}
		if !pr.Lost {
			continue
		}
		who := "VMs using its LUNs lose their disks (their I/O fails)"
		if len(rs) > 0 {
			who = fmt.Sprintf("VM %s, which use its LUNs, lose their disks (their I/O fails)", vmNames(rs))
		}
		what := fmt.Sprintf("the host no longer reaches iSCSI target %s at %s", pr.Target, pr.Portal)
		if pr.Type == model.PoolISCSI {
			what = fmt.Sprintf("the host's session to iSCSI target %s at %s is gone (LUN %s no longer on the host)", pr.Target, pr.Portal, strings.Join(pr.GoneLUNs, ", "))
		}
		f := model.Finding{
			Severity: model.SeverityCritical, Object: object, Check: "pool.iscsi-session-gone",
			Message:  fmt.Sprintf("Pool %s is cut off from its SAN: %s, so %s and no LUN of it can be attached.", pr.Pool, what, who),
			Evidence: evidence,
			Related:  related(p.Pool, rs),
		}
		switch {
		case pr.Stopped && p.Persistent:
			f.Message = strings.TrimSuffix(f.Message, ".") + "; libvirt stopped the pool when the refresh failed."
			f.Evidence += "; virStoragePoolIsActive afterwards: 0 (libvirt stops a pool whose refresh fails)"
			// Not stowage's start-pool: --fix re-diagnoses first, and an
			// inactive pool is not probed, so no finding would ask for it
			// (unless VMs use the pool: then pool.inactive-in-use does).
			f.Fix = fmt.Sprintf("bring target %s back on the SAN at %s (and its ACL for this host's initiator), then start the pool: virsh -c %s pool-start %s", pr.Target, pr.Portal, Shell(h.URI), Shell(pr.Pool))
		case pr.Type == model.PoolISCSI:
			host, port, _ := strings.Cut(pr.Portal, ":")
			f.Fix = fmt.Sprintf("on the host: iscsiadm --mode node --targetname %s --portal %s:%s --login (after the LUNs are back on the SAN: iscsiadm --mode session --rescan), then virsh -c %s pool-refresh %s", pr.Target, host, port, Shell(h.URI), Shell(pr.Pool))
		default:
			f.Fix = fmt.Sprintf("bring target %s back on the SAN at %s (and its ACL for this host's initiator), then: virsh -c %s pool-refresh %s", pr.Target, pr.Portal, Shell(h.URI), Shell(pr.Pool))
		}
		out = append(out, f)
	}
	return out
}

func notProbedFix(uri string, pr model.ISCSIProbe) string {
	if pr.Type == model.PoolISCSIDirect && strings.Contains(pr.NotProbed, "read-only") {
		return fmt.Sprintf("run stowage doctor without --readonly, or: virsh -c %s pool-refresh %s (a failed refresh stops the pool)", Shell(uri), Shell(pr.Pool))
	}
	return ""
}

// MissingPVs: an active logical pool whose volume group is missing a
// physical volume, or is gone. LVs on the missing PV fail their I/O, and
// LVM refuses to change the VG (or to activate it partially) until the PV
// is back or removed.
func MissingPVs(h model.HostInfo, probe model.VGProbe) []model.Finding {
	vgs := map[string]model.VolumeGroup{}
	for _, v := range probe.VGs {
		vgs[v.Name] = v
	}
	var out []model.Finding
	for _, p := range h.Pools {
		if p.Type != model.PoolLogical || !p.Active || p.SourceName == "" {
			continue
		}
		object := fmt.Sprintf("pool %s on %s", p.Name, h.URI)
		rs := users(h, p.Pool)
		if probe.NotProbed != "" || probe.Err != "" {
			why := probe.NotProbed
			if why == "" {
				why = "the host's volume groups could not be listed"
			}
			out = append(out, model.Finding{
				Severity: model.SeverityInfo, Object: object, Check: "pool.pv-unprobed",
				Message:  fmt.Sprintf("The physical volumes of pool %s (VG %s) were not checked: %s.", p.Name, p.SourceName, why),
				Evidence: probe.Call + ": " + probe.Err,
				Fix:      fmt.Sprintf("on the host: vgs -o vg_name,vg_attr,pv_count,vg_missing_pv_count %s", p.SourceName),
				Related:  related(p.Pool, rs),
			})
			continue
		}
		vg, found := vgs[p.SourceName]
		lose := func(where string) string {
			if len(rs) > 0 {
				return fmt.Sprintf("VM %s lose their disks %s (their I/O fails)", vmNames(rs), where)
			}
			return fmt.Sprintf("LVs %s fail their I/O", where)
		}
		f := model.Finding{Severity: model.SeverityCritical, Object: object, Check: "pool.pv-missing", Related: related(p.Pool, rs)}
		switch {
		case !found:
			f.Message = fmt.Sprintf("Volume group %s behind pool %s is not on the host any more (none of its physical volumes is found): %s, and the pool cannot start again.", p.SourceName, p.Name, lose("in it"))
			f.Evidence = fmt.Sprintf("%s: %s", probe.Call, vgList(probe.VGs))
		case vg.Missing() > 0:
			f.Message = fmt.Sprintf("Volume group %s behind pool %s is missing %d of its %d physical volumes: %s, and LVM refuses to activate or change the VG until the PV is back.", vg.Name, p.Name, vg.Missing(), len(vg.Devices), lose("on the missing PV"))
			f.Evidence = fmt.Sprintf("%s: VG %s on %s", probe.Call, vg.Name, strings.Join(vg.Devices, ", "))
		default:
			continue
		}
		f.Fix = fmt.Sprintf("bring the missing PV's device back (its LUN on the SAN, its iSCSI session: iscsiadm --mode session --rescan), then on the host: pvscan --cache && vgchange -ay %s && virsh -c %s pool-refresh %s; if the PV is lost for good, vgreduce --removemissing %s drops it (and the LVs on it)", Shell(p.SourceName), Shell(h.URI), Shell(p.Name), Shell(p.SourceName))
		out = append(out, f)
	}
	return out
}

func vgList(vgs []model.VolumeGroup) string {
	if len(vgs) == 0 {
		return "no volume groups"
	}
	var out []string
	for _, v := range vgs {
		out = append(out, fmt.Sprintf("VG %s on %s", v.Name, strings.Join(v.Devices, ", ")))
	}
	return strings.Join(out, "; ")
}

func poolNamed(h model.HostInfo, name string) (model.PoolInfo, bool) {
	for _, p := range h.Pools {
		if p.Name == name {
			return p, true
		}
	}
	return model.PoolInfo{}, false
}

// ProbedISCSIPools are the pools ISCSISessions wants probed: the active
// iscsi and iscsi-direct pools.
func ProbedISCSIPools(h model.HostInfo) []model.Pool {
	var out []model.Pool
	for _, p := range h.Pools {
		if p.Active && (p.Type == model.PoolISCSI || p.Type == model.PoolISCSIDirect) {
			out = append(out, p.Pool)
		}
	}
	return out
}

// NeedsVGProbe reports whether MissingPVs has a pool to judge.
func NeedsVGProbe(h model.HostInfo) bool {
	for _, p := range h.Pools {
		if p.Type == model.PoolLogical && p.Active && p.SourceName != "" {
			return true
		}
	}
	return false
}
