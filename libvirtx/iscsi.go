package libvirtx

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"stowage/model"
)

// ISCSIPoolXML renders an iscsi pool definition.
func ISCSIPoolXML(s model.ISCSIPoolSpec) (string, error) {
	src := &libvirtxml.StoragePoolSource{
		Host:   []libvirtxml.StoragePoolSourceHost{{Name: s.Host, Port: strconv.Itoa(s.Port)}},
		Device: []libvirtxml.StoragePoolSourceDevice{{Path: s.Target}},
	}
	if s.Initiator != "" {
		src.Initiator = &libvirtxml.StoragePoolSourceInitiator{IQN: libvirtxml.StoragePoolSourceInitiatorIQN{Name: s.Initiator}}
	}
	if s.CHAPUser != "" {
		src.Auth = &libvirtxml.StoragePoolSourceAuth{Type: "chap", Username: s.CHAPUser,
			Secret: &libvirtxml.StoragePoolSourceAuthSecret{Usage: s.CHAPUsage}}
	}
	x := libvirtxml.StoragePool{Type: "iscsi", Name: s.Name, Source: src,
		Target: &libvirtxml.StoragePoolTarget{Path: model.ByPathDir}}
	return x.Marshal()
}

// LogicalPoolXML renders a logical pool definition.
func LogicalPoolXML(s model.LogicalPoolSpec) (string, error) {
	src := &libvirtxml.StoragePoolSource{Name: s.VG, Format: &libvirtxml.StoragePoolSourceFormat{Type: "lvm2"}}
	for _, d := range s.Devices {
		src.Device = append(src.Device, libvirtxml.StoragePoolSourceDevice{Path: d})
	}
	x := libvirtxml.StoragePool{Type: "logical", Name: s.Name, UUID: s.UUID, Source: src,
		Target: &libvirtxml.StoragePoolTarget{Path: "/dev/" + s.VG}}
	return x.Marshal()
}

// PoolSourceOf reads a pool's <source>.
func (c *Conn) PoolSourceOf(ctx context.Context, name string) (model.PoolSource, error) {
	doc, err := c.PoolXMLDesc(ctx, name)
	if err != nil {
		return model.PoolSource{}, err
	}
	return PoolSourceFromXML(doc)
}

// PoolSourceFromXML parses the <source> of a pool's XML.
func PoolSourceFromXML(doc string) (model.PoolSource, error) {
	var x libvirtxml.StoragePool
	if err := x.Unmarshal(doc); err != nil {
		return model.PoolSource{}, fmt.Errorf("parse pool XML: %w", err)
	}
	ps := model.PoolSource{UUID: x.UUID, Type: model.PoolType(x.Type)}
	if s := x.Source; s != nil {
		ps.Name = s.Name
		for _, h := range s.Host {
			port := h.Port
			if port == "" {
				port = "3260"
			}
			ps.Hosts = append(ps.Hosts, net.JoinHostPort(h.Name, port))
		}
		for _, d := range s.Device {
			ps.Devices = append(ps.Devices, d.Path)
		}
		if s.Auth != nil {
			ps.AuthUser = s.Auth.Username
			if s.Auth.Secret != nil {
				ps.AuthUsage = s.Auth.Secret.Usage
			}
		}
	}
	return ps, nil
}

type poolSources struct {
	XMLName xml.Name                       `xml:"sources"`
	Sources []libvirtxml.StoragePoolSource `xml:"source"`
}

// FindISCSITargets runs sendtargets discovery on the host against a portal
// (virsh find-storage-pool-sources-as iscsi HOST PORT). It runs on the
// hypervisor, where the LUNs must later appear, not where stowage runs.
func (c *Conn) FindISCSITargets(ctx context.Context, host string, port int, initiator string) ([]model.ISCSITarget, error) {
	spec := libvirtxml.StoragePoolSource{Host: []libvirtxml.StoragePoolSourceHost{{Name: host, Port: strconv.Itoa(port)}}}
	if initiator != "" {
		spec.Initiator = &libvirtxml.StoragePoolSourceInitiator{IQN: libvirtxml.StoragePoolSourceInitiatorIQN{Name: initiator}}
	}
	b, err := xml.Marshal(struct {
		XMLName xml.Name `xml:"source"`
		libvirtxml.StoragePoolSource
	}{StoragePoolSource: spec})
	if err != nil {
		return nil, fmt.Errorf("discovery request: %w", err)
	}
	portal := net.JoinHostPort(host, strconv.Itoa(port))
	out, err := call(ctx, c, "discover iSCSI targets at "+portal, func(l *libvirt.Libvirt) (string, error) {
		return l.ConnectFindStoragePoolSources("iscsi", libvirt.OptString{string(b)}, 0)
	})
	if err != nil {
		return nil, err
	}
	var ps poolSources
	if err := xml.Unmarshal([]byte(out), &ps); err != nil {
		return nil, fmt.Errorf("parse discovery result: %w", err)
	}
	var ts []model.ISCSITarget
	for _, s := range ps.Sources {
		p := portal
		if len(s.Host) > 0 && s.Host[0].Name != "" {
			hp := s.Host[0].Port
			if hp == "" {
				hp = strconv.Itoa(port)
			}
			p = net.JoinHostPort(s.Host[0].Name, hp)
		}
		for _, d := range s.Device {
			ts = append(ts, model.ISCSITarget{IQN: d.Path, Portal: p})
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].IQN < ts[j].IQN })
	return ts, nil
}

// VolumeGroups lists the LVM volume groups the host sees, active or not,
// with their physical volumes (virsh find-storage-pool-sources logical).
func (c *Conn) VolumeGroups(ctx context.Context) ([]model.VolumeGroup, error) {
	out, err := call(ctx, c, "list LVM volume groups", func(l *libvirt.Libvirt) (string, error) {
		return l.ConnectFindStoragePoolSources("logical", libvirt.OptString{}, 0)
	})
	if err != nil {
		return nil, err
	}
	var ps poolSources
	if err := xml.Unmarshal([]byte(out), &ps); err != nil {
		return nil, fmt.Errorf("parse volume groups: %w", err)
	}
	var vgs []model.VolumeGroup
	for _, s := range ps.Sources {
		vg := model.VolumeGroup{Name: s.Name}
		for _, d := range s.Device {
			vg.Devices = append(vg.Devices, d.Path)
		}
		vgs = append(vgs, vg)
	}
	return vgs, nil
}

// VolumeByPath finds the pool and volume a device path belongs to (virsh
// vol-pool / vol-name on a path). libvirt resolves /dev/sdX to the stable
// by-path name of an iscsi pool's LUN.
func (c *Conn) VolumeByPath(ctx context.Context, path string) (pool, name string, err error) {
	v, err := call(ctx, c, "look up volume "+path, func(l *libvirt.Libvirt) (libvirt.StorageVol, error) {
		return l.StorageVolLookupByPath(path)
	})
	if err != nil {
		return "", "", err
	}
	return v.Pool, v.Name, nil
}

// LUNs lists an iscsi pool's LUNs with what libvirt detected on each.
func (c *Conn) LUNs(ctx context.Context, pool string) ([]model.LUN, error) {
	vols, err := c.Volumes(ctx, pool)
	if err != nil {
		return nil, err
	}
	luns := make([]model.LUN, 0, len(vols))
	for _, v := range vols {
		n, ok := LUNNumber(v.Name)
		if !ok {
			continue
		}
		content := v.Format
		if content == "none" || content == "raw" || content == "unknown" {
			content = ""
		}
		luns = append(luns, model.LUN{Number: n, Volume: v.Name, Path: v.Path, Capacity: v.Capacity, Content: content})
	}
	sort.Slice(luns, func(i, j int) bool { return luns[i].Number < luns[j].Number })
	return luns, nil
}

// LUNNumber reads the LUN from an iscsi pool volume name, "unit:0:0:3".
func LUNNumber(vol string) (int, bool) {
	if !strings.HasPrefix(vol, "unit:") {
		return 0, false
	}
	i := strings.LastIndexByte(vol, ':')
	n, err := strconv.Atoi(vol[i+1:])
	return n, err == nil
}

// DefineCHAPSecret defines a private libvirt secret of usage type iscsi and
// sets its value (virsh secret-define + secret-set-value). The value never
// leaves this call. It returns the secret's UUID.
func (c *Conn) DefineCHAPSecret(ctx context.Context, usage, description string, value []byte) (string, error) {
	if err := c.refuseUnsafeSecret(fmt.Sprintf("define CHAP secret %q", usage)); err != nil {
		return "", err
	}
	doc, err := (&libvirtxml.Secret{Ephemeral: "no", Private: "yes", Description: description,
		Usage: &libvirtxml.SecretUsage{Type: "iscsi", Target: usage}}).Marshal()
	if err != nil {
		return "", fmt.Errorf("CHAP secret XML: %w", err)
	}
	val := append([]byte(nil), value...)
	return call(ctx, c, fmt.Sprintf("define CHAP secret %q", usage), func(l *libvirt.Libvirt) (string, error) {
		s, err := l.SecretDefineXML(doc, 0)
		if err != nil {
			return "", err
		}
		if err := l.SecretSetValue(s, val, 0); err != nil {
			_ = l.SecretUndefine(s)
			return "", fmt.Errorf("set value: %w", err)
		}
		return FormatUUID(s.UUID), nil
	})
}

// CHAPSecretExists reports whether an iscsi secret with this usage exists.
func (c *Conn) CHAPSecretExists(ctx context.Context, usage string) (bool, error) {
	_, err := call(ctx, c, fmt.Sprintf("look up CHAP secret %q", usage), func(l *libvirt.Libvirt) (libvirt.Secret, error) {
		return l.SecretLookupByUsage(int32(libvirt.SecretUsageTypeIscsi), usage)
	})
	if IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// DefineISCSIPool defines a persistent iscsi pool (virsh pool-define) and
// returns the UUID libvirt gave it: the identity an undo checks.
func (c *Conn) DefineISCSIPool(ctx context.Context, s model.ISCSIPoolSpec) (string, error) {
	doc, err := ISCSIPoolXML(s)
	if err != nil {
		return "", fmt.Errorf("define pool %q: %w", s.Name, err)
	}
	return c.definePool(ctx, s.Name, doc)
}

// DefineLogicalPool defines a persistent logical pool (virsh pool-define)
// and returns its UUID. A spec with the UUID of the existing pool of that
// name redefines it (libvirt keeps a name's UUID).
func (c *Conn) DefineLogicalPool(ctx context.Context, s model.LogicalPoolSpec) (string, error) {
	doc, err := LogicalPoolXML(s)
	if err != nil {
		return "", fmt.Errorf("define pool %q: %w", s.Name, err)
	}
	return c.definePool(ctx, s.Name, doc)
}

// definePool sends a pool definition and returns the pool's UUID.
func (c *Conn) definePool(ctx context.Context, name, doc string) (string, error) {
	return call(ctx, c, fmt.Sprintf("define pool %q", name), func(l *libvirt.Libvirt) (string, error) {
		p, err := l.StoragePoolDefineXML(doc, 0)
		if err != nil {
			return "", err
		}
		return FormatUUID(p.UUID), nil
	})
}

// PoolUUID returns the UUID of the pool called name; ok is false when no
// pool has that name.
func (c *Conn) PoolUUID(ctx context.Context, name string) (uuid string, ok bool, err error) {
	p, err := c.lookupPool(ctx, name)
	if IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return FormatUUID(p.UUID), true, nil
}

// PoolIf does act to the pool called name only when check accepts its
// UUID, read in the same sequence of calls; the act then goes to the pool
// by that UUID (libvirtd resolves a pool handle by UUID), so a pool that
// another admin put in its place is never touched. A pool that is gone
// already is not an error.
func (c *Conn) PoolIf(ctx context.Context, name string, act model.PoolAct, check func(uuid string) error) error {
	err := c.do(ctx, fmt.Sprintf("%s pool %q", act.Verb(), name), func(l *libvirt.Libvirt) error {
		p, err := l.StoragePoolLookupByName(name)
		if err != nil {
			return err
		}
		if err := check(FormatUUID(p.UUID)); err != nil {
			return err
		}
		switch act {
		case model.PoolActStop:
			return l.StoragePoolDestroy(p)
		case model.PoolActUndefine:
			return l.StoragePoolUndefine(p)
		case model.PoolActAutostartOff:
			return l.StoragePoolSetAutostart(p, 0)
		case model.PoolActAutostartOn:
			return l.StoragePoolSetAutostart(p, 1)
		case model.PoolActDeleteData:
			return l.StoragePoolDelete(p, libvirt.StoragePoolDeleteNormal)
		case model.PoolActStart:
			return l.StoragePoolCreate(p, 0)
		case model.PoolActBuild:
			return l.StoragePoolBuild(p, libvirt.StoragePoolBuildNoOverwrite)
		case model.PoolActBuildOverwrite:
			return l.StoragePoolBuild(p, libvirt.StoragePoolBuildOverwrite)
		}
		return fmt.Errorf("unknown pool action %d", act)
	})
	if IsNotFound(err) {
		return nil
	}
	return err
}

// CHAPSecretUUID returns the UUID of the iscsi secret with this usage; ok
// is false when there is none.
func (c *Conn) CHAPSecretUUID(ctx context.Context, usage string) (uuid string, ok bool, err error) {
	s, err := call(ctx, c, fmt.Sprintf("look up CHAP secret %q", usage), func(l *libvirt.Libvirt) (libvirt.Secret, error) {
		return l.SecretLookupByUsage(int32(libvirt.SecretUsageTypeIscsi), usage)
	})
	if IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return FormatUUID(s.UUID), true, nil
}

// RemoveCHAPSecretIf undefines the iscsi secret with this usage only when
// check accepts its UUID, read in the same sequence of calls. A secret
// that is gone already is not an error.
func (c *Conn) RemoveCHAPSecretIf(ctx context.Context, usage string, check func(uuid string) error) error {
	err := c.do(ctx, fmt.Sprintf("remove CHAP secret %q", usage), func(l *libvirt.Libvirt) error {
		s, err := l.SecretLookupByUsage(int32(libvirt.SecretUsageTypeIscsi), usage)
		if err != nil {
			return err
		}
		if err := check(FormatUUID(s.UUID)); err != nil {
			return err
		}
		return l.SecretUndefine(s)
	})
	if IsNotFound(err) {
		return nil
	}
	return err
}

// ReadVolumeHead reads the first n bytes of a volume (virsh vol-download
// --length n): what signature probing needs of a LUN, read on the host
// that sees it. A shorter volume returns what it has.
//
// go-libvirt's stream calls can deadlock (digitalocean/go-libvirt#241: its
// router holds the callback lock while it hands a late packet to a caller
// that has stopped reading, and the caller's cleanup waits for that lock),
// which hangs the connection with it; it was seen here as a probe that
// never returned. So the download runs on a connection of its own, the
// bytes are taken as soon as n have arrived (not when go-libvirt returns),
// the socket is then cut (no RPC), and the caller waits at most the call's
// timeout. A stream that hangs leaves its two goroutines blocked inside
// go-libvirt until exit, and nothing else.
func (c *Conn) ReadVolumeHead(ctx context.Context, pool, vol string, n uint64) ([]byte, error) {
	// A stalled stream is go-libvirt's, not the volume's: the next
	// attempt, on a fresh connection, reads it (seen here: about 1 read in
	// 150 got no data at all, while 400 virsh vol-downloads in a row never
	// stalled). 128 KiB arrive in milliseconds, so the first attempts are
	// bounded well below the per-call timeout; the last one gets all of it,
	// for a slow link. Only libvirt's own answer (no such volume, no
	// download on this pool type) ends the attempts early.
	var err error
	for i := range headAttempts {
		within := min(c.timeout, headAttemptBound)
		if i == headAttempts-1 {
			within = c.timeout
		}
		var b []byte
		if b, err = c.readHeadOnce(ctx, pool, vol, n, within); err == nil || isLibvirtError(err) || ctx.Err() != nil {
			return b, err
		}
	}
	return nil, err
}

const (
	headAttempts     = 4
	headAttemptBound = 5 * time.Second
)

// isLibvirtError tells an answer from libvirtd (the call was made and
// refused) from a failure of the transport or a stalled stream.
func isLibvirtError(err error) bool {
	var le libvirt.Error
	return errors.As(err, &le)
}

// errShortHead is a download that ended before the bytes the volume holds.
var errShortHead = errors.New("the download ended early")

func (c *Conn) readHeadOnce(ctx context.Context, pool, vol string, n uint64, within time.Duration) ([]byte, error) {
	what := fmt.Sprintf("read the first %d KiB of %s/%s", n/1024, pool, vol)
	dc, err := dial(ctx, c.Target.Raw, c.opts, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer dc.cut()
	w := &capped{max: int(n), full: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		ph, err := dc.lookupPool(ctx, pool)
		if err == nil {
			err = dc.do(ctx, what, func(l *libvirt.Libvirt) error {
				v, err := l.StorageVolLookupByName(ph, vol)
				if err != nil {
					return err
				}
				// Ask for exactly what the volume holds (its physical
				// size: a file's length, a device's size), so the bytes
				// are complete when that many have arrived and the end of
				// the stream, where go-libvirt can deadlock, is never
				// waited for.
				_, _, physical, sizeErr := l.StorageVolGetInfoFlags(v, uint32(libvirt.StorageVolGetPhysical))
				if sizeErr == nil {
					w.limit(int(min(n, physical)))
				}
				if w.want() == 0 {
					return nil // length 0 would download the whole volume
				}
				if err := l.StorageVolDownload(v, w, 0, uint64(w.want()), 0); err != nil {
					return err
				}
				// Short is only known to be wrong when the size was known
				// (a libvirt without GET_PHYSICAL: what arrived is the head).
				if got, want := len(w.bytes()), w.want(); sizeErr == nil && got < want {
					return fmt.Errorf("%w: %d of %d bytes", errShortHead, got, want)
				}
				return nil
			})
		}
		done <- err
	}()
	wait, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	select {
	case <-w.full:
		return w.bytes(), nil
	case err := <-done:
		if err != nil {
			return nil, err
		}
		return w.bytes(), nil
	case <-wait.Done():
		return nil, fmt.Errorf("%s on %s: %w (waited %s; connection closed)", what, c.Target.Raw, ErrTimeout, within)
	}
}

// capped keeps at most max bytes of what is written to it, and closes
// full once it has them.
type capped struct {
	mu   sync.Mutex
	buf  []byte
	max  int
	full chan struct{}
}

func (w *capped) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := w.max - len(w.buf); room > 0 {
		w.buf = append(w.buf, p[:min(room, len(p))]...)
		if len(w.buf) == w.max {
			close(w.full)
		}
	}
	return len(p), nil
}

// limit lowers what is wanted (before any byte arrives); nothing wanted
// is full at once.
func (w *capped) limit(max int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if max < w.max {
		if len(w.buf) < w.max && len(w.buf) >= max {
			close(w.full)
		}
		w.max = max
	}
}

func (w *capped) want() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.max
}

func (w *capped) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.buf)
}
