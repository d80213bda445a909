package drive

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"stowage/model"
)

// driveRef is a drive as the reference checks see it: its pool, its
// volume (key, path) and, on rbd, its image name (cephpool/image).
type driveRef struct {
	pool    model.Pool
	vol     model.Volume
	rbdName string
}

// host is one connected host in a check: this one first, then the peers.
type host struct {
	name  string
	lv    Libvirt
	local bool
}

// hostsFor lists the hosts a check must cover: this one, and with shared
// storage every peer. A peer that cannot be reached is an error: a drive
// in use there, or a secret referenced there, cannot be ruled out.
func hostsFor(d Deps, shared bool) ([]host, error) {
	hs := []host{{name: d.Host, lv: d.Libvirt, local: true}}
	if !shared {
		return hs, nil
	}
	for _, p := range d.Peers {
		if p.Host == d.Host {
			continue
		}
		if p.Libvirt == nil {
			return nil, fmt.Errorf("cannot check connected host %s (%v): wait until it is back, or close it in the console, then try again", p.Host, p.Err)
		}
		hs = append(hs, host{name: p.Host, lv: p.Libvirt})
	}
	return hs, nil
}

// diskKey is the key of the volume a VM disk uses, looked up on the
// disk's host: rbd disks by their image (libvirt's rbd key is
// cephpool/image), volume disks through their pool, file and block disks
// through the host's pools (StorageVolLookupByPath). A path no pool knows
// has no key: ok is false and the caller compares paths.
func diskKey(ctx context.Context, h host, k model.Disk) (key string, ok bool, err error) {
	switch {
	case k.SourceType == "network" && strings.HasPrefix(k.Source, "rbd:"):
		return strings.TrimPrefix(k.Source, "rbd:"), true, nil
	case k.SourceType == "volume" && k.Pool != "" && k.Volume != "":
		v, err := h.lv.Volume(ctx, k.Pool, k.Volume)
		if errors.Is(err, model.ErrNotFound) {
			return "", false, nil
		}
		if err != nil {
			// A stopped pool lists no volume: its disks cannot be a volume
			// of an active pool, which every check here is about. Without
			// this, one VM whose pool is stopped blocked every check on
			// the host.
			if p, perr := h.lv.Pool(ctx, k.Pool); perr == nil && !p.Active {
				return "", false, nil
			}
		}
		return v.Key, err == nil, err
	case k.Source != "" && (k.SourceType == "file" || k.SourceType == "block"):
		return h.lv.VolumeKeyByPath(ctx, k.Source)
	}
	return "", false, nil
}

// uses reports whether disk k on host h is the drive: by volume key where
// the host can look the disk up, else by path (a disk outside every pool).
func (r driveRef) uses(ctx context.Context, h host, k model.Disk) (bool, error) {
	key, ok, err := diskKey(ctx, h, k)
	if err != nil {
		return false, err
	}
	if ok {
		want := r.vol.Key
		if r.rbdName != "" {
			want = r.rbdName
		}
		return key == want, nil
	}
	return r.vol.Path != "" && k.Source == r.vol.Path, nil
}

// diskUse is one VM disk that is the drive: on which host, in which VM,
// and whether in the live domain (State is the VM's) or its config.
type diskUse struct {
	host  host
	vm    string
	state string
	live  bool
	disk  model.Disk
}

// uses lists the VM disks that are the drive, live and persistent, on
// this host and, for shared storage, on every peer.
func usesOf(ctx context.Context, d Deps, r driveRef) ([]diskUse, error) {
	hs, err := hostsFor(d, model.SharedStorage(r.pool.Type))
	if err != nil {
		return nil, err
	}
	var out []diskUse
	for _, h := range hs {
		names, err := h.lv.DomainNames(ctx)
		if err != nil {
			return nil, fmt.Errorf("check VMs on %s: %w", h.name, err)
		}
		for _, n := range names {
			for _, inactive := range []bool{false, true} {
				dom, err := h.lv.Domain(ctx, n, inactive)
				if errors.Is(err, model.ErrNotFound) {
					continue // undefined meanwhile
				}
				if err != nil {
					return nil, fmt.Errorf("check VM %s on %s: %w", n, h.name, err)
				}
				if inactive && !dom.Persistent {
					continue
				}
				for _, k := range dom.Disks {
					used, err := r.uses(ctx, h, k)
					if err != nil {
						return nil, fmt.Errorf("check disk %s of VM %s on %s: %w", k.Target, n, h.name, err)
					}
					if used {
						out = append(out, diskUse{host: h, vm: n, state: dom.State, live: !inactive, disk: k})
					}
				}
			}
		}
	}
	return out, nil
}

// String is "[host ]VM:target (live|persistent)".
func (u diskUse) String() string {
	where := "persistent"
	if u.live {
		where = "live"
	}
	s := fmt.Sprintf("%s:%s (%s)", u.vm, u.disk.Target, where)
	if !u.host.local {
		s = u.host.name + " " + s
	}
	return s
}

// usersOf lists the VM disks that use the drive, "host VM:target (live|
// persistent)", on this host and, for shared storage, on every peer.
func usersOf(ctx context.Context, d Deps, r driveRef) (users []string, running bool, err error) {
	uses, err := usesOf(ctx, d, r)
	if err != nil {
		return nil, false, err
	}
	for _, u := range uses {
		running = running || (u.live && u.state == "running")
		users = append(users, u.String())
	}
	return users, running, nil
}

// secretKeptBecause says why a drive's secret must outlive the drive, or
// "" when it may be undefined: its usage must be this volume, and no other
// volume or VM disk on any connected host may reference it (stowage's
// passphrases are private and cannot be read back: a secret undefined
// under another volume makes that volume unreadable).
func secretKeptBecause(ctx context.Context, d Deps, uuid string, r driveRef) (string, error) {
	sec, err := d.Libvirt.Secret(ctx, uuid)
	if errors.Is(err, model.ErrNotFound) {
		return "it does not exist on " + d.Host, nil
	}
	if err != nil {
		return "", err
	}
	usage := r.vol.Path
	if r.rbdName != "" {
		usage = r.rbdName
	}
	if sec.UsageType != "volume" || sec.UsageID != usage {
		return fmt.Sprintf("its usage is %s %q, not this volume (%s)", sec.UsageType, sec.UsageID, usage), nil
	}
	// Secrets are per host; only on shared storage can a volume or disk on
	// another host be this drive's (a migrated VM's copy of the secret).
	hs, err := hostsFor(d, model.SharedStorage(r.pool.Type))
	if err != nil {
		return "", err
	}
	for _, h := range hs {
		pools, err := h.lv.Pools(ctx)
		if err != nil {
			return "", fmt.Errorf("check secret %s on %s: %w", uuid, h.name, err)
		}
		for _, p := range pools {
			if !p.Active {
				continue
			}
			vols, err := h.lv.Volumes(ctx, p.Name)
			switch {
			case errors.Is(err, model.ErrNotFound):
				continue // stopped or undefined meanwhile
			case model.IsListLimit(err):
				// libvirt cannot name every volume there: one of them may
				// use the secret, so it stays.
				return fmt.Sprintf("pool %s on %s holds more volumes than libvirt can list, so a volume there encrypted with it cannot be ruled out", p.Name, h.name), nil
			case err != nil:
				return "", fmt.Errorf("check secret %s in pool %s on %s: %w", uuid, p.Name, h.name, err)
			}
			for _, v := range vols {
				if v.Encryption == nil || v.Encryption.SecretUUID != uuid || v.Key == r.vol.Key {
					continue // the drive itself, seen from any host
				}
				return fmt.Sprintf("volume %s/%s on %s is encrypted with it too", p.Name, v.Name, h.name), nil
			}
		}
		names, err := h.lv.DomainNames(ctx)
		if err != nil {
			return "", fmt.Errorf("check secret %s on %s: %w", uuid, h.name, err)
		}
		for _, n := range names {
			for _, inactive := range []bool{false, true} {
				dom, err := h.lv.Domain(ctx, n, inactive)
				if errors.Is(err, model.ErrNotFound) {
					continue
				}
				if err != nil {
					return "", fmt.Errorf("check secret %s on %s: %w", uuid, h.name, err)
				}
				for _, k := range dom.Disks {
					if k.Encryption != nil && k.Encryption.SecretUUID == uuid {
						return fmt.Sprintf("disk %s of VM %s on %s uses it", k.Target, n, h.name), nil
					}
				}
			}
		}
	}
	return "", nil
}
