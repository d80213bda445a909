package iscsi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"stowage/model"
	"stowage/plan"
)

// TeardownHost is what a teardown preview reads besides Host: the volumes
// (LVs) of the logical pool, each listed before anything goes.
type TeardownHost interface {
	Host
	Volumes(ctx context.Context, pool string) ([]model.Volume, error)
}

// PoolRef is a pool as the preview saw it: its UUID is the identity the
// run holds it to.
type PoolRef struct {
	Name   string `json:"name"`
	UUID   string `json:"uuid"`
	Active bool   `json:"active"`
}

// LV is one logical volume (a drive) the teardown destroys.
type LV struct {
	Name      string `json:"name"`
	Key       string `json:"key"`
	Path      string `json:"path"`
	Capacity  uint64 `json:"capacity"`
	Encrypted bool   `json:"encrypted,omitempty"`
}

// TeardownItem is one thing that goes, with the command that removes it
// by hand (virsh, or the LVM command libvirt runs).
type TeardownItem struct {
	What    string `json:"what"`
	Command string `json:"command"`
}

// TeardownPreview is what a teardown will remove, read from the host and
// changing nothing. The run acts only on the identities recorded here.
type TeardownPreview struct {
	Host    string   `json:"host"`
	Logical *PoolRef `json:"logical_pool,omitempty"`
	VG      string   `json:"vg,omitempty"`
	LVs     []LV     `json:"lvs"`
	// PVs are the LUN devices whose PV signatures go (LVM's names), and
	// PVLUNs the iscsi pool volumes they are ("unit:0:0:1"): the identity
	// the run checks (device names may change across a re-login).
	PVs    []string `json:"pvs"`
	PVLUNs []string `json:"pv_luns"`
	// PVPool is the iscsi pool the PVs are LUNs of (also when it stays).
	PVPool string   `json:"pv_pool,omitempty"`
	ISCSI  *PoolRef `json:"iscsi_pool,omitempty"`
	Target string   `json:"target,omitempty"`
	// LUNPaths are the iscsi pool's LUN devices: a VM disk on one of them
	// refuses the teardown.
	LUNPaths []string `json:"lun_paths,omitempty"`
	Portal   string   `json:"portal,omitempty"`
	// SecretUsage and SecretUUID name the stowage CHAP secret that goes;
	// empty when none does (Kept says why).
	SecretUsage string         `json:"chap_secret_usage,omitempty"`
	SecretUUID  string         `json:"chap_secret_uuid,omitempty"`
	Kept        []string       `json:"kept,omitempty"`
	Items       []TeardownItem `json:"items"`
}

// ConfirmName is what the admin types to confirm: the logical pool's
// name, or the iscsi pool's when no logical pool is built on it.
func (p TeardownPreview) ConfirmName() string {
	if p.Logical != nil {
		return p.Logical.Name
	}
	if p.ISCSI != nil {
		return p.ISCSI.Name
	}
	return ""
}

// IDs are the identities the run holds each object to.
func (p TeardownPreview) IDs() TeardownIDs {
	var ids TeardownIDs
	if p.Logical != nil {
		ids.LogicalPool, ids.LogicalUUID = p.Logical.Name, p.Logical.UUID
	}
	if p.ISCSI != nil {
		ids.ISCSIPool, ids.ISCSIUUID = p.ISCSI.Name, p.ISCSI.UUID
		ids.SecretUUID = p.SecretUUID
		if p.SecretUUID == "" {
			ids.SecretUUID = noSecret
		}
	}
	return ids
}

// noSecret is a UUID no secret has: a preview that removes no secret
// makes the run keep whichever it finds.
const noSecret = "none-previewed"

// teardownFacts is what PreviewTeardown reads; pairing and the items
// are worked out from it without I/O (pairTeardown, items).
type teardownFacts struct {
	pools   []model.Pool
	sources map[string]model.PoolSource
	vgs     []model.VolumeGroup
	// lunOf maps a VG device to the iscsi pool volume libvirt resolves
	// it to ("pool\x00volume"); a device outside every pool is absent.
	lunOf map[string][2]string
}

func (f teardownFacts) pool(name string) (model.Pool, bool) {
	i := slices.IndexFunc(f.pools, func(p model.Pool) bool { return p.Name == name })
	if i < 0 {
		return model.Pool{}, false
	}
	return f.pools[i], true
}

func (f teardownFacts) vg(name string) (model.VolumeGroup, bool) {
	i := slices.IndexFunc(f.vgs, func(v model.VolumeGroup) bool { return v.Name == name })
	if i < 0 {
		return model.VolumeGroup{}, false
	}
	return f.vgs[i], true
}

// iscsiPoolsOf lists the iscsi pools the VG's PVs are LUNs of, and the
// devices that are no LUN of any pool.
func (f teardownFacts) iscsiPoolsOf(vg model.VolumeGroup) (pools, strays []string) {
	for _, d := range vg.Devices {
		l, ok := f.lunOf[d]
		if !ok {
			strays = append(strays, d)
			continue
		}
		if !slices.Contains(pools, l[0]) {
			pools = append(pools, l[0])
		}
	}
	return pools, strays
}

// pairTeardown finds the logical pool and the iscsi pool a teardown of
// asked (either one; iscsiAsked, when set, must be the pair) removes,
// and why it must refuse. logical is "" for an iscsi pool that no logical
// pool is built on.
func pairTeardown(f teardownFacts, asked, iscsiAsked string) (logical, iscsiPool string, err error) {
	p, ok := f.pool(asked)
	if !ok {
		return "", "", fmt.Errorf("no pool named %q on this host", asked)
	}
	switch p.Type {
	case model.PoolLogical:
		vgName := f.sources[asked].Name
		vg, ok := f.vg(vgName)
		if !ok {
			return "", "", fmt.Errorf("the VG %q of logical pool %s is not on the host (its LUNs are logged out or gone): start its iscsi pool (virsh pool-start POOL) so the VG's PVs can be named, then preview again", vgName, asked)
		}
		pools, strays := f.iscsiPoolsOf(vg)
		switch {
		case len(pools) == 0:
			return "", "", fmt.Errorf("logical pool %s (VG %s on %s) is not built on an iscsi pool's LUNs: remove it as a plain pool (stowage pool delete, then undefine)", asked, vgName, strings.Join(vg.Devices, ", "))
		case len(pools) > 1 || len(strays) > 0:
			return "", "", fmt.Errorf("VG %s of logical pool %s spans more than one iscsi pool's LUNs (%s; other devices: %s): stowage tears down only a VG on one iscsi pool; remove it by hand",
				vgName, asked, strings.Join(pools, ", "), strings.Join(strays, ", "))
		}
		if iscsiAsked != "" && iscsiAsked != pools[0] {
			return "", "", fmt.Errorf("logical pool %s is not built on iscsi pool %s: its VG %s lies on LUNs of iscsi pool %s (give --iscsi-pool %s, or leave it out)", asked, iscsiAsked, vgName, pools[0], pools[0])
		}
		return asked, pools[0], nil
	case model.PoolISCSI:
		if iscsiAsked != "" && iscsiAsked != asked {
			return "", "", fmt.Errorf("pool %s is the iscsi pool itself; --iscsi-pool %s names another: leave --iscsi-pool out", asked, iscsiAsked)
		}
		var over []string
		for _, lp := range f.pools {
			if lp.Type != model.PoolLogical {
				continue
			}
			if vg, ok := f.vg(f.sources[lp.Name].Name); ok {
				if pools, _ := f.iscsiPoolsOf(vg); slices.Contains(pools, asked) {
					over = append(over, lp.Name)
				}
			}
		}
		if len(over) > 1 {
			return "", "", fmt.Errorf("iscsi pool %s backs logical pools %s: tear each down by naming it (the iscsi pool goes with the last)", asked, strings.Join(over, ", "))
		}
		if len(over) == 1 {
			return over[0], asked, nil
		}
		return "", asked, nil
	}
	return "", "", fmt.Errorf("pool %s is of type %s: teardown takes a logical pool built on an iscsi pool, or that iscsi pool", asked, p.Type)
}

// otherVGOn names a VG other than ourVG (in a pool or not) on one of the
// iscsi pool's LUNs: logging out would pull it from under its owner, so
// the iscsi pool must stay. "" when there is none.
func otherVGOn(f teardownFacts, iscsiPool, ourVG string) string {
	for _, vg := range f.vgs {
		if vg.Name == ourVG {
			continue
		}
		if pools, _ := f.iscsiPoolsOf(vg); slices.Contains(pools, iscsiPool) {
			return vg.Name
		}
	}
	return ""
}

// PreviewTeardown reads what tearing down pool (a logical pool built on
// an iscsi pool, or that iscsi pool; iscsiPool, when given, must be its
// pair) would remove, changing nothing. It refuses (ErrRefused, audited
// through r) when the pools are not such a pair, or when a VM on this
// host or on any of others has a disk in either pool, running or not.
func PreviewTeardown(ctx context.Context, h TeardownHost, r plan.Runner, others []OtherHost, pool, iscsiPool string) (TeardownPreview, error) {
	s := NewSetup(h, Request{}, nil)
	s.Runner = r
	pv := TeardownPreview{Host: r.Host}
	refuse := func(err error) (TeardownPreview, error) {
		return pv, s.refuse("tear down LVM on iSCSI", r.Host+" pool "+pool, err)
	}
	if err := ValidatePoolName(pool); err != nil {
		return refuse(fmt.Errorf("--pool: %w", err))
	}
	f, err := readTeardownFacts(ctx, h)
	if err != nil {
		return pv, err
	}
	logical, iscsiName, err := pairTeardown(f, pool, iscsiPool)
	if err != nil {
		return refuse(err)
	}
	if logical != "" {
		if pv, err = previewLogical(ctx, h, f, pv, logical); err != nil {
			return refuse(err)
		}
		pv.PVPool = iscsiName
		if vg := otherVGOn(f, iscsiName, pv.VG); vg != "" {
			pv.Kept = append(pv.Kept, fmt.Sprintf("iscsi pool %s stays (no logout): VG %s lies on its LUNs too", iscsiName, vg))
			iscsiName = ""
		}
	}
	if logical == "" {
		// No pool of ours over it, yet a VG on its LUNs: a logout would
		// pull that VG (in use outside libvirt, maybe) from under its owner.
		if vg := otherVGOn(f, iscsiName, ""); vg != "" {
			return refuse(fmt.Errorf("VG %s lies on LUNs of iscsi pool %s and no libvirt pool is built on it: logging out would pull it from under whoever uses it; deactivate it first (vgchange -an %s), then preview again", vg, iscsiName, vg))
		}
	}
	if iscsiName != "" {
		if pv, err = previewISCSI(ctx, h, f, pv, iscsiName); err != nil {
			return pv, err
		}
	}
	if err := refuseUsers(ctx, h, others, pv); err != nil {
		return refuse(err)
	}
	pv.Items = teardownItems(pv)
	return pv, nil
}

func readTeardownFacts(ctx context.Context, h Host) (teardownFacts, error) {
	f := teardownFacts{sources: map[string]model.PoolSource{}, lunOf: map[string][2]string{}}
	var err error
	if f.pools, err = h.Pools(ctx); err != nil {
		return f, fmt.Errorf("list pools: %w", err)
	}
	for _, p := range f.pools {
		if p.Type != model.PoolLogical && p.Type != model.PoolISCSI && p.Type != model.PoolISCSIDirect {
			continue
		}
		src, err := h.PoolSourceOf(ctx, p.Name)
		if errors.Is(err, model.ErrNotFound) {
			continue // undefined meanwhile
		}
		if err != nil {
			return f, fmt.Errorf("read pool %s: %w", p.Name, err)
		}
		f.sources[p.Name] = src
	}
	if f.vgs, err = h.VolumeGroups(ctx); err != nil {
		return f, fmt.Errorf("list volume groups: %w", err)
	}
	for _, vg := range f.vgs {
		for _, d := range vg.Devices {
			pool, vol, err := h.VolumeByPath(ctx, d)
			if err != nil {
				continue // a PV on a disk no pool holds
			}
			if p, ok := f.pool(pool); ok && p.Type == model.PoolISCSI {
				f.lunOf[d] = [2]string{pool, vol}
			}
		}
	}
	return f, nil
}

func previewLogical(ctx context.Context, h TeardownHost, f teardownFacts, pv TeardownPreview, name string) (TeardownPreview, error) {
	p, _ := f.pool(name)
	uuid, ok, err := h.PoolUUID(ctx, name)
	if err != nil || !ok {
		return pv, fmt.Errorf("read pool %s: gone or unreadable (%v)", name, err)
	}
	if !p.Active {
		// Its LVs cannot be listed, and every one must be shown first.
		return pv, fmt.Errorf("logical pool %s is stopped, so its drives cannot be listed before they are destroyed: start it (virsh pool-start %s), then preview again", name, name)
	}
	pv.Logical = &PoolRef{Name: name, UUID: uuid, Active: p.Active}
	pv.VG = f.sources[name].Name
	vg, _ := f.vg(pv.VG)
	pv.PVs = slices.Clone(vg.Devices)
	for _, d := range vg.Devices {
		pv.PVLUNs = append(pv.PVLUNs, f.lunOf[d][1])
	}
	slices.Sort(pv.PVLUNs)
	vols, err := h.Volumes(ctx, name)
	if err != nil {
		return pv, fmt.Errorf("list the drives of %s: %w", name, err)
	}
	for _, v := range vols {
		pv.LVs = append(pv.LVs, LV{Name: v.Name, Key: v.Key, Path: v.Path, Capacity: v.Capacity, Encrypted: v.Encryption != nil})
	}
	slices.SortFunc(pv.LVs, func(a, b LV) int { return strings.Compare(a.Name, b.Name) })
	return pv, nil
}

func previewISCSI(ctx context.Context, h Host, f teardownFacts, pv TeardownPreview, name string) (TeardownPreview, error) {
	p, _ := f.pool(name)
	uuid, ok, err := h.PoolUUID(ctx, name)
	if err != nil || !ok {
		return pv, fmt.Errorf("read pool %s: gone or unreadable (%v)", name, err)
	}
	src := f.sources[name]
	pv.ISCSI = &PoolRef{Name: name, UUID: uuid, Active: p.Active}
	if len(src.Devices) > 0 {
		pv.Target = src.Devices[0]
	}
	if len(src.Hosts) > 0 {
		pv.Portal = src.Hosts[0]
	}
	if p.Active {
		luns, err := h.LUNs(ctx, name)
		if err != nil {
			return pv, fmt.Errorf("list the LUNs of %s: %w", name, err)
		}
		for _, l := range luns {
			pv.LUNPaths = append(pv.LUNPaths, l.Path)
		}
	}
	usage := src.AuthUsage
	switch {
	case usage == "":
	case !strings.HasPrefix(usage, SecretUsage("")):
		pv.Kept = append(pv.Kept, fmt.Sprintf("CHAP secret %q stays: stowage did not make it", usage))
	default:
		for _, o := range f.pools {
			if o.Name != name && f.sources[o.Name].AuthUsage == usage {
				pv.Kept = append(pv.Kept, fmt.Sprintf("CHAP secret %q stays: pool %s uses it too", usage, o.Name))
				return pv, nil
			}
		}
		su, ok, err := h.CHAPSecretUUID(ctx, usage)
		if err != nil {
			return pv, fmt.Errorf("look up CHAP secret %q: %w", usage, err)
		}
		if ok {
			pv.SecretUsage, pv.SecretUUID = usage, su
		}
	}
	return pv, nil
}

// refuseUsers refuses while a VM on this host or a connected one has a
// disk in the logical pool (by pool name or under /dev/VG) or on a LUN of
// the iscsi pool (by pool volume, by path, or as a network iscsi disk).
func refuseUsers(ctx context.Context, h Host, others []OtherHost, pv TeardownPreview) error {
	hosts := append([]OtherHost{{URI: pv.Host, Host: h}}, others...)
	lunPaths := append(slices.Clone(pv.LUNPaths), pv.PVs...)
	var users []string
	for i, oh := range hosts {
		where := "this host"
		if i > 0 {
			where = oh.URI
		}
		if oh.Host == nil {
			return fmt.Errorf("cannot check that no VM on connected host %s uses the pools (%v): wait until it is back, or close it in the console, then try again", oh.URI, oh.Err)
		}
		doms, err := oh.Host.Domains(ctx)
		if err != nil {
			return fmt.Errorf("list VMs on %s to check that none uses the pools: %w", where, err)
		}
		for _, u := range TeardownUsers(model.HostInfo{Domains: doms}, pv, lunPaths) {
			users = append(users, fmt.Sprintf("VM %s (%s) disk %s → %s on %s", u.VM.Name, u.VM.State, u.Disk.Target, u.Disk.Source, where))
		}
	}
	if len(users) > 0 {
		return fmt.Errorf("VMs use the storage being torn down: %s; detach those disks (virsh detach-disk VM TARGET --config) or remove the VMs first", strings.Join(users, "; "))
	}
	return nil
}

// TeardownUsers lists the VM disks of h that lie in the logical pool or
// on the iscsi pool's LUNs (lunPaths: their devices), running VMs or not.
// model.PoolUsers decides for the logical pool; the iscsi pool is matched
// by name and by LUN path only (its target path /dev/disk/by-path holds
// every LUN of every target, not only its own).
func TeardownUsers(h model.HostInfo, pv TeardownPreview, lunPaths []string) []model.PoolUser {
	var out []model.PoolUser
	if pv.Logical != nil {
		out = append(out, model.PoolUsers(h, model.Pool{Name: pv.Logical.Name, Type: model.PoolLogical, TargetPath: "/dev/" + pv.VG})...)
	}
	if pv.ISCSI != nil {
		out = append(out, model.PoolUsers(h, model.Pool{Name: pv.ISCSI.Name, Type: model.PoolISCSI})...)
		for _, d := range h.Domains {
			for _, k := range d.Disks {
				if k.Device == "cdrom" || k.Device == "floppy" {
					continue
				}
				onLUN := (k.SourceType == "block" || k.SourceType == "file") && slices.Contains(lunPaths, k.Source)
				onTarget := k.SourceType == "network" && pv.Target != "" && strings.HasPrefix(k.Source, "iscsi:"+pv.Target+"/")
				if onLUN || onTarget {
					out = append(out, model.PoolUser{VM: d, Disk: k})
				}
			}
		}
	}
	return out
}

// teardownItems lists, in order, what goes and the command for each.
func teardownItems(pv TeardownPreview) []TeardownItem {
	var out []TeardownItem
	add := func(what, cmd string) { out = append(out, TeardownItem{What: what, Command: cmd}) }
	if l := pv.Logical; l != nil {
		for _, v := range pv.LVs {
			enc := ""
			if v.Encrypted {
				enc = ", encrypted"
			}
			add(fmt.Sprintf("drive %s (LV %s/%s, %s%s): its data is destroyed", v.Name, pv.VG, v.Name, model.IBytes(v.Capacity), enc), "lvremove "+pv.VG+"/"+v.Name)
		}
		if l.Active {
			add("stop logical pool "+l.Name, "virsh pool-destroy "+l.Name)
		}
		add("VG "+pv.VG, "virsh pool-delete "+l.Name+"   (vgremove "+pv.VG+")")
		for _, d := range pv.PVs {
			add("PV signature on "+d, "pvremove "+d)
		}
		add("logical pool "+l.Name+" (UUID "+l.UUID+")", "virsh pool-undefine "+l.Name)
	}
	if i := pv.ISCSI; i != nil {
		if i.Active {
			add(fmt.Sprintf("iSCSI session to %s at %s (stop iscsi pool %s: logout)", pv.Target, pv.Portal, i.Name), "virsh pool-destroy "+i.Name)
		}
		add("iscsi pool "+i.Name+" (UUID "+i.UUID+")", "virsh pool-undefine "+i.Name)
		if pv.SecretUUID != "" {
			add("CHAP secret "+pv.SecretUsage, "virsh secret-undefine "+pv.SecretUUID)
		}
	}
	return out
}

// Text is the preview as the headless command and the
// console print it: what goes, each with its command, then what stays.
func (pv TeardownPreview) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tearing down LVM on iSCSI on %s removes:\n", pv.Host)
	for _, it := range pv.Items {
		fmt.Fprintf(&b, "  - %s\n      %s\n", it.What, it.Command)
	}
	if pv.Logical != nil {
		fmt.Fprintf(&b, "%d drive(s) in VG %s are destroyed with their data.\n", len(pv.LVs), pv.VG)
	}
	for _, k := range pv.Kept {
		fmt.Fprintf(&b, "kept: %s\n", k)
	}
	return b.String()
}
