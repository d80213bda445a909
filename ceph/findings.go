package ceph

// The doctor's Ceph checks as pure functions: facts in, model.Finding out.
// The calls that gather the facts are in doctor.go; keeping the decisions
// here lets unit tests cover every wording without a cluster.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"stowage/model"
)

// Check names, as model.Finding.Check carries them.
const (
	CheckHealth     = "ceph.health"
	CheckPoolFull   = "ceph.pool-full"
	CheckPoolQuota  = "ceph.pool-quota"
	CheckStaleLock  = "rbd.stale-lock"
	CheckBlocklist  = "ceph.blocklist"
	CheckMultiWatch = "rbd.multi-watch"
	CheckUserCaps   = "ceph.user-caps"
	CheckMonitor    = "ceph.monitor"
)

// quotaWarnFraction is where a pool quota starts to warn. Ceph's own
// mon_pool_quota_warn_threshold is off (0) by default, so stowage picks 80%.
const quotaWarnFraction = 0.8

// healthConsequence says what a health check costs, for the codes an admin
// on call meets most; the rest get Ceph's own summary only.
var healthConsequence = map[string]string{
	"OSD_NEARFULL":                    "writes stop cluster-wide when an OSD reaches the full ratio",
	"OSD_FULL":                        "writes to the pools on the full OSDs are refused and VMs pause on I/O errors",
	"OSD_BACKFILLFULL":                "recovery cannot move data onto those OSDs",
	"POOL_NEARFULL":                   "writes to the pool stop when it reaches its quota or the full ratio",
	"POOL_FULL":                       "writes to the pool are refused and VMs on it pause on I/O errors",
	"OSDMAP_FLAGS":                    "cluster-wide flags change how Ceph stores and recovers data",
	"OSD_DOWN":                        "data on those OSDs has fewer copies until they return",
	"MON_DOWN":                        "the cluster loses quorum if another monitor fails",
	"PG_AVAILABILITY":                 "I/O to the data in those placement groups blocks",
	"PG_DEGRADED":                     "some data has fewer copies than the pool asks for",
	"SLOW_OPS":                        "I/O from clients, VMs included, is stalling",
	"MGR_DOWN":                        "the cluster's statistics and df figures go stale",
	"AUTH_INSECURE_GLOBAL_ID_RECLAIM": "old clients may reuse another client's global id",
}

// healthFindings turns each failing health check into a finding.
func healthFindings(cluster string, h model.CephHealth) []model.Finding {
	var out []model.Finding
	for _, c := range h.Checks {
		if c.Muted {
			continue
		}
		sev := model.SeverityWarning
		if c.Severity == "HEALTH_ERR" {
			sev = model.SeverityCritical
		}
		msg := fmt.Sprintf("Ceph health check %s is %s (%s)", c.Code, c.Severity, strings.TrimSuffix(c.Summary, "."))
		if cons := healthConsequence[c.Code]; cons != "" {
			msg += ": " + cons
		}
		ev := fmt.Sprintf("mon command `health detail`: status %s; %s %s: %s", h.Status, c.Code, c.Severity, c.Summary)
		for i, d := range c.Detail {
			if i == 5 {
				ev += fmt.Sprintf("; … %d more", len(c.Detail)-5)
				break
			}
			ev += "; " + d
		}
		out = append(out, model.Finding{
			Severity: sev, Object: "ceph cluster " + cluster, Message: msg + ".", Evidence: ev,
			Fix: healthFix(c), Check: CheckHealth,
		})
	}
	return out
}

// healthFix is the command that clears a check where there is one.
func healthFix(c model.CephHealthCheck) string {
	if c.Code == "OSDMAP_FLAGS" {
		// "noout flag(s) set" or "noout,noscrub flag(s) set"
		if flags, ok := strings.CutSuffix(c.Summary, " flag(s) set"); ok && !strings.Contains(flags, " ") {
			var cmds []string
			for _, f := range strings.Split(flags, ",") {
				cmds = append(cmds, "ceph osd unset "+f)
			}
			return "if nobody set them on purpose (maintenance): `" + strings.Join(cmds, "; ") + "`"
		}
	}
	return "`ceph health detail` explains " + c.Code + "; see https://docs.ceph.com/en/pacific/rados/operations/health-checks/"
}

// poolFindings flags pools near their full point or their quota.
func poolFindings(cluster string, c model.CephCluster) []model.Finding {
	var out []model.Finding
	ratios := fmt.Sprintf("`osd dump`: nearfull_ratio %.3g, full_ratio %.3g", c.NearfullRatio, c.FullRatio)
	for _, p := range c.Pools {
		obj := "ceph pool " + p.Name + " of cluster " + cluster
		ev := fmt.Sprintf("mon command `df`: pool %s stored %s, max_avail %s, percent_used %s; %s",
			p.Name, model.IBytes(p.StoredBytes), model.IBytes(p.MaxAvailBytes), pct(p.PercentUsed), ratios)
		// PercentUsed is used/(used+max_avail), and max_avail ends where the
		// fullest OSD under the pool reaches the full ratio: the pool warns
		// where its OSDs would reach nearfull, i.e. at nearfull/full of it.
		warnAt := 0.0
		if c.FullRatio > 0 && c.NearfullRatio > 0 {
			warnAt = c.NearfullRatio / c.FullRatio
		}
		switch {
		case p.MaxAvailBytes == 0 && c.TotalBytes > 0:
			out = append(out, model.Finding{Severity: model.SeverityCritical, Object: obj, Check: CheckPoolFull,
				Message:  fmt.Sprintf("Pool %s is full: writes to its images are refused and VMs using them pause on I/O errors.", p.Name),
				Evidence: ev, Fix: "free space (`rbd du -p " + p.Name + "` shows the largest images; remove unused ones) or add OSDs"})
		case warnAt > 0 && p.PercentUsed >= warnAt:
			out = append(out, model.Finding{Severity: model.SeverityWarning, Object: obj, Check: CheckPoolFull,
				Message: fmt.Sprintf("Pool %s is %s used, past the %s where its OSDs reach the nearfull ratio: writes stop when they reach the full ratio.",
					p.Name, pct(p.PercentUsed), pct(warnAt)),
				Evidence: ev, Fix: "free space (`rbd du -p " + p.Name + "` shows the largest images; remove unused ones) or add OSDs"})
		}
		out = append(out, quotaFindings(obj, p)...)
	}
	return out
}

// pct shows a fraction as a percentage with three significant digits, so
// that a tiny figure does not print as 0%.
func pct(f float64) string { return strconv.FormatFloat(100*f, 'g', 3, 64) + "%" }

func quotaFindings(obj string, p model.CephPool) []model.Finding {
	var out []model.Finding
	check := func(what string, used, quota uint64, show func(uint64) string, key string) {
		if quota == 0 || float64(used) < quotaWarnFraction*float64(quota) {
			return
		}
		sev, state, cost := model.SeverityWarning, "near", "writes are refused once it is reached"
		if used >= quota {
			sev, state, cost = model.SeverityCritical, "at", "writes to its images are refused now"
		}
		out = append(out, model.Finding{Severity: sev, Object: obj, Check: CheckPoolQuota,
			Message: fmt.Sprintf("Pool %s is %s its %s quota (%s of %s): %s.",
				p.Name, state, what, show(used), show(quota), cost),
			Evidence: fmt.Sprintf("mon commands `df` and `osd dump`: pool %s holds %s, quota_max_%s %s", p.Name, show(used), key, show(quota)),
			Fix:      fmt.Sprintf("`ceph osd pool set-quota %s max_%s %d` (or free space)", p.Name, key, 2*quota)})
	}
	check("byte", p.StoredBytes, p.QuotaMaxBytes, model.IBytes, "bytes")
	check("object", p.Objects, p.QuotaMaxObjects, func(n uint64) string { return fmt.Sprint(n, " objects") }, "objects")
	return out
}

// StaleLocks are the lockers of img that do not watch it: a client holding
// a lock keeps a watch on the header while it lives, so a lock without its
// watch was left by a client that died (or a CLI that exited).
func StaleLocks(img model.RBDImage) []model.RBDLocker {
	var out []model.RBDLocker
	for _, l := range img.Lockers {
		live := false
		for _, w := range img.Watchers {
			if sameClientAddr(l.Address, w.Address) {
				live = true
				break
			}
		}
		if !live {
			out = append(out, l)
		}
	}
	return out
}

func blocklisted(addr string, bl []model.CephBlocklistEntry) (model.CephBlocklistEntry, bool) {
	for _, e := range bl {
		if sameClientAddr(addr, e.Address) || e.Address == AddrHost(addr)+":0/0" {
			return e, true
		}
	}
	return model.CephBlocklistEntry{}, false
}

// lockFindings reports the stale locks of one image, with the fix stowage
// can apply (FixBreakLock) and the command that does the same.
func lockFindings(img model.RBDImage, bl []model.CephBlocklistEntry) []model.Finding {
	var out []model.Finding
	spec := img.Pool + "/" + img.Name
	for _, l := range StaleLocks(img) {
		kind := "a shared"
		if l.Exclusive {
			kind = "an exclusive"
		}
		why := "which no longer watches it"
		if e, ok := blocklisted(l.Address, bl); ok {
			why = "which no longer watches it and is blocklisted until " + e.Until
		}
		out = append(out, model.Finding{
			Severity: model.SeverityWarning, Object: "rbd image " + spec, Check: CheckStaleLock,
			Message: fmt.Sprintf("Image %s has %s lock held by %s at %s, %s: a VM that needs the lock cannot start from the image until it is broken.",
				spec, kind, l.Client, l.Address, why),
			Evidence: fmt.Sprintf("rbd list lockers %s: %s cookie %q at %s; rbd list watchers %s: %s",
				spec, l.Client, l.Cookie, l.Address, spec, watcherList(img.Watchers)),
			Fix: fmt.Sprintf("stowage break-lock %s (locker %s, cookie %q); by hand: `rbd lock rm %s '%s' %s`",
				spec, l.Client, l.Cookie, spec, l.Cookie, l.Client),
			Action: &model.FixAction{Kind: model.FixBreakLock, Target: spec,
				Detail: map[string]string{"locker": l.Client, "cookie": l.Cookie, "address": l.Address}},
		})
	}
	return out
}

func watcherList(ws []model.RBDWatcher) string {
	if len(ws) == 0 {
		return "none"
	}
	var s []string
	for _, w := range ws {
		s = append(s, fmt.Sprintf("client.%d at %s", w.Client, w.Address))
	}
	return strings.Join(s, ", ")
}

// watchFindings flags an image open by clients on more than one host, or
// by more than one client on one host. Two watchers on two hosts are two
// writers unless a live migration is under way; on one IP (the lab, or two
// VMs on one hypervisor) stowage tells clients apart by entity and nonce.
func watchFindings(img model.RBDImage) []model.Finding {
	if len(img.Watchers) < 2 {
		return nil
	}
	hosts := map[string]bool{}
	for _, w := range img.Watchers {
		hosts[w.Host] = true
	}
	spec := img.Pool + "/" + img.Name
	var list []string
	for h := range hosts {
		list = append(list, h)
	}
	sort.Strings(list)
	msg := fmt.Sprintf("Image %s is open on %d hosts (%s): unless a live migration is under way, two writers corrupt the filesystem inside it.",
		spec, len(hosts), strings.Join(list, ", "))
	if len(hosts) == 1 {
		msg = fmt.Sprintf("Image %s is open by %d clients on host %s: unless it is a shareable disk, two writers corrupt the filesystem inside it.",
			spec, len(img.Watchers), list[0])
	}
	return []model.Finding{{
		Severity: model.SeverityWarning, Object: "rbd image " + spec, Check: CheckMultiWatch, Message: msg,
		Evidence: "rbd list watchers " + spec + ": " + watcherList(img.Watchers),
		Fix:      "stop the VM or process that should not have the image open (`rbd status " + spec + "` lists its clients)",
	}}
}

// blocklistFindings reports each blocklisted client, tied to the locks it
// still holds on the images looked at.
func blocklistFindings(cluster string, bl []model.CephBlocklistEntry, imgs []model.RBDImage) []model.Finding {
	var out []model.Finding
	for _, e := range bl {
		var held []string
		for _, img := range imgs {
			for _, l := range img.Lockers {
				if sameClientAddr(l.Address, e.Address) {
					held = append(held, fmt.Sprintf("%s/%s (%s, cookie %q)", img.Pool, img.Name, l.Client, l.Cookie))
				}
			}
		}
		f := model.Finding{
			Severity: model.SeverityInfo, Object: "ceph client " + e.Address + " of cluster " + cluster, Check: CheckBlocklist,
			Message: fmt.Sprintf("Client %s is blocklisted until %s: if it is still alive its I/O is refused and its VMs hang; if it died, this is Ceph fencing it as it should.",
				e.Address, e.Until),
			Evidence: fmt.Sprintf("mon command `osd blocklist ls`: %s until %s", e.Address, e.Until),
			Fix:      "only if that client is alive and must work again: `ceph osd blocklist rm " + e.Address + "`",
		}
		if len(held) > 0 {
			f.Severity = model.SeverityWarning
			f.Message = fmt.Sprintf("Client %s is blocklisted until %s and still holds locks on %s: it can never release them, so VMs needing those images cannot take them.",
				e.Address, e.Until, strings.Join(held, ", "))
			f.Evidence += "; rbd list lockers: " + strings.Join(held, ", ")
			f.Fix = "break those locks (stowage break-lock, see the " + CheckStaleLock + " findings)"
		}
		out = append(out, f)
	}
	return out
}

// capsFindings checks that user's caps let it use pool as RBD needs.
func capsFindings(caps model.CephUserCaps, pool string) []model.Finding {
	access, grant := PoolAccess(caps.OSD, pool)
	if access == AccessReadWrite {
		return nil
	}
	have := "no grant covers it"
	if grant != "" {
		have = "only " + access + " through " + grant
	}
	mgr := ""
	if caps.MGR != "" {
		mgr = fmt.Sprintf(" mgr '%s'", caps.MGR)
	}
	return []model.Finding{{
		Severity: model.SeverityCritical, Object: "cephx user " + caps.Entity, Check: CheckUserCaps,
		Message: fmt.Sprintf("Cephx user %s cannot write to pool %s (%s): VMs and pools using its key cannot open images there.",
			caps.Entity, pool, have),
		Evidence: fmt.Sprintf("mon command `auth get %s`: caps mon '%s' osd '%s'%s", caps.Entity, caps.Mon, caps.OSD, mgr),
		Fix:      fmt.Sprintf("`ceph auth caps %s mon '%s' osd '%s'%s`", caps.Entity, orDefault(caps.Mon, "profile rbd"), capsGrant(caps.OSD, pool), mgr),
	}}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// refusedFinding is the caps finding when only the restricted user is at
// hand: the OSD refused it (EPERM) a pool operation.
func refusedFinding(user, pool, op string, err error) model.Finding {
	return model.Finding{
		Severity: model.SeverityCritical, Object: "cephx user client." + user, Check: CheckUserCaps,
		Message:  fmt.Sprintf("Cephx user client.%s is refused on pool %s: VMs and pools using its key cannot open images there.", user, pool),
		Evidence: fmt.Sprintf("%s on pool %s as client.%s: %v", op, pool, user, err),
		Fix:      fmt.Sprintf("`ceph auth caps client.%s mon 'profile rbd' osd 'profile rbd pool=%s'` (add the user's other pools to the osd caps: the command replaces them)", user, pool),
	}
}

// errno is the Ceph error code an error carries (positive), or 0.
func errno(err error) syscall.Errno {
	var coded interface{ ErrorCode() int }
	if errors.As(err, &coded) {
		if c := coded.ErrorCode(); c < 0 {
			return syscall.Errno(-c)
		}
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		return en
	}
	return 0
}

// monitorFinding says why connecting failed, naming the cause.
func monitorFinding(c Config, err error) model.Finding {
	mons := monitorsOf(c)
	at := "at " + mons
	if len(c.Monitors) == 0 {
		at = "named in " + c.ConfFile
	}
	f := model.Finding{
		Severity: model.SeverityCritical, Object: "ceph monitors " + at, Check: CheckMonitor,
		Evidence: fmt.Sprintf("librados connect (timeout %s): %v", c.timeout(), err),
		Fix:      fmt.Sprintf("check that the monitors run and this host reaches them: `ceph -m %s --id %s --connect-timeout 5 -s`", strings.Join(c.Monitors, ","), c.User),
	}
	if len(c.Monitors) == 0 {
		f.Fix = fmt.Sprintf("check that the monitors run and this host reaches them: `ceph -c %s --id %s --connect-timeout 5 -s`", c.ConfFile, c.User)
	}
	switch e := errno(err); {
	case e == syscall.ETIMEDOUT || errors.Is(err, model.ErrTimeout) || errors.Is(err, context.DeadlineExceeded):
		f.Message = fmt.Sprintf("No monitor %s answered within %s: every VM and pool using this cluster fails to open its images.", at, c.timeout())
	case e == syscall.EACCES || e == syscall.EPERM:
		f.Message = fmt.Sprintf("The monitors %s refused client.%s's key: every VM and pool using this key fails to open its images.", at, c.User)
		f.Fix = fmt.Sprintf("check the key: `ceph auth get client.%s` (as admin) against the keyring or the libvirt secret", c.User)
	case e == syscall.ENOENT:
		f.Message = fmt.Sprintf("Cannot connect to the monitors %s: a file is missing (ceph.conf or keyring), so nothing using this cluster works from here.", at)
		f.Fix = "give the right --ceph-conf and --ceph-keyring"
	default:
		f.Message = fmt.Sprintf("Cannot connect to the monitors %s: every VM and pool using this cluster fails to open its images.", at)
	}
	return f
}
