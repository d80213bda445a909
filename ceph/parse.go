package ceph

// Pure parsing of the monitors' JSON answers and of RBD image headers: in
// every build (noceph too), so that unit tests need no cluster.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"stowage/model"
)

// parseHealth reads `health detail` (format json).
func parseHealth(b []byte) (model.CephHealth, error) {
	var raw struct {
		Status string `json:"status"`
		Checks map[string]struct {
			Severity string `json:"severity"`
			Summary  struct {
				Message string `json:"message"`
			} `json:"summary"`
			Detail []struct {
				Message string `json:"message"`
			} `json:"detail"`
			Muted bool `json:"muted"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return model.CephHealth{}, fmt.Errorf("health detail: %w", err)
	}
	if raw.Status == "" {
		return model.CephHealth{}, fmt.Errorf("health detail: no status in the answer")
	}
	h := model.CephHealth{Status: raw.Status}
	for code, c := range raw.Checks {
		hc := model.CephHealthCheck{Code: code, Severity: c.Severity, Summary: c.Summary.Message, Muted: c.Muted}
		for _, d := range c.Detail {
			hc.Detail = append(hc.Detail, d.Message)
		}
		h.Checks = append(h.Checks, hc)
	}
	sort.Slice(h.Checks, func(i, j int) bool { return h.Checks[i].Code < h.Checks[j].Code })
	return h, nil
}

// parseDF reads `df` (format json) into the cluster's capacity and pools.
func parseDF(b []byte, c *model.CephCluster) error {
	var raw struct {
		Stats struct {
			Total uint64 `json:"total_bytes"`
			Avail uint64 `json:"total_avail_bytes"`
			Used  uint64 `json:"total_used_raw_bytes"`
		} `json:"stats"`
		Pools []struct {
			Name  string `json:"name"`
			ID    int64  `json:"id"`
			Stats struct {
				Stored      uint64  `json:"stored"`
				Objects     uint64  `json:"objects"`
				BytesUsed   uint64  `json:"bytes_used"`
				PercentUsed float64 `json:"percent_used"`
				MaxAvail    uint64  `json:"max_avail"`
			} `json:"stats"`
		} `json:"pools"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("df: %w", err)
	}
	c.TotalBytes, c.AvailBytes, c.UsedBytes = raw.Stats.Total, raw.Stats.Avail, raw.Stats.Used
	c.Pools = c.Pools[:0]
	for _, p := range raw.Pools {
		c.Pools = append(c.Pools, model.CephPool{
			Name: p.Name, ID: p.ID, StoredBytes: p.Stats.Stored, UsedBytes: p.Stats.BytesUsed,
			MaxAvailBytes: p.Stats.MaxAvail, PercentUsed: p.Stats.PercentUsed, Objects: p.Stats.Objects,
		})
	}
	return nil
}

// parseOSDDump adds the OSD map's full ratios, pool quotas and
// applications to what `df` gave.
func parseOSDDump(b []byte, c *model.CephCluster) error {
	var raw struct {
		FSID          string  `json:"fsid"`
		FullRatio     float64 `json:"full_ratio"`
		NearfullRatio float64 `json:"nearfull_ratio"`
		Pools         []struct {
			ID         int64                      `json:"pool"`
			Name       string                     `json:"pool_name"`
			QuotaBytes uint64                     `json:"quota_max_bytes"`
			QuotaObjs  uint64                     `json:"quota_max_objects"`
			Apps       map[string]json.RawMessage `json:"application_metadata"`
		} `json:"pools"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("osd dump: %w", err)
	}
	c.FSID, c.FullRatio, c.NearfullRatio = raw.FSID, raw.FullRatio, raw.NearfullRatio
	for _, p := range raw.Pools {
		for i := range c.Pools {
			if c.Pools[i].ID != p.ID {
				continue
			}
			c.Pools[i].QuotaMaxBytes, c.Pools[i].QuotaMaxObjects = p.QuotaBytes, p.QuotaObjs
			c.Pools[i].Applications = nil
			for app := range p.Apps {
				c.Pools[i].Applications = append(c.Pools[i].Applications, app)
			}
			sort.Strings(c.Pools[i].Applications)
		}
	}
	return nil
}

// parseBlocklist reads `osd blocklist ls` (format json).
func parseBlocklist(b []byte) ([]model.CephBlocklistEntry, error) {
	var raw []struct {
		Addr  string `json:"addr"`
		Until string `json:"until"`
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	// Ceph 16 flushes its formatter twice here: the answer is the list
	// followed by a second, empty one ("[…][]"). Read the first value.
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&raw); err != nil {
		return nil, fmt.Errorf("osd blocklist ls: %w", err)
	}
	out := make([]model.CephBlocklistEntry, 0, len(raw))
	for _, e := range raw {
		out = append(out, model.CephBlocklistEntry{Address: e.Addr, Host: AddrHost(e.Addr), Until: e.Until})
	}
	return out, nil
}

// parseAuthCaps reads `auth get` (format json), keeping the caps only.
// The answer holds the user's key: the caller clears b afterwards, and the
// key never enters a struct here.
func parseAuthCaps(b []byte) (model.CephUserCaps, error) {
	var raw []struct {
		Entity string            `json:"entity"`
		Caps   map[string]string `json:"caps"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		// The error text of encoding/json quotes no input, so no key leaks.
		return model.CephUserCaps{}, fmt.Errorf("auth get: %w", err)
	}
	if len(raw) != 1 {
		return model.CephUserCaps{}, fmt.Errorf("auth get: %d entities in the answer, want 1", len(raw))
	}
	return model.CephUserCaps{Entity: raw[0].Entity, Mon: raw[0].Caps["mon"], OSD: raw[0].Caps["osd"], MGR: raw[0].Caps["mgr"]}, nil
}

// AddrHost is the IP of a Ceph messenger address: "127.0.0.1:0/123",
// "v2:10.0.0.5:0/42", "[::1]:0/7", "[v2:10.0.0.5:0/1,v1:10.0.0.5:0/1]".
// It returns the address unchanged when it cannot tell.
func AddrHost(addr string) string {
	ip, _ := splitAddr(addr)
	return ip
}

// splitAddr returns an address's IP and the rest that tells one client
// process from another on the same IP (port and nonce).
func splitAddr(addr string) (ip, rest string) {
	s := strings.TrimSpace(addr)
	if strings.HasPrefix(s, "[") && strings.Contains(s, ",") { // an address vector: take the first
		s = strings.TrimPrefix(s, "[")
		s = strings.TrimSuffix(strings.SplitN(s, ",", 2)[0], "]")
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "v2:"), "v1:")
	s = strings.TrimPrefix(s, "any:")
	hostport, nonce, _ := strings.Cut(s, "/")
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return addr, ""
	}
	return host, port + "/" + nonce
}

// sameClientAddr tells whether two messenger addresses are one client
// process: same IP, port and nonce, whatever the v1/v2 prefix.
func sameClientAddr(a, b string) bool {
	ia, ra := splitAddr(a)
	ib, rb := splitAddr(b)
	if ra == "" || rb == "" {
		return strings.TrimSpace(a) == strings.TrimSpace(b)
	}
	return ia == ib && ra == rb
}

// luksMagic opens every LUKS header; two bytes of version follow it.
var luksMagic = []byte("LUKS\xba\xbe")

// HeadBytes is how much of an image Encryption needs.
const HeadBytes = 8

// Encryption names the format an image's first bytes show: "luks1",
// "luks2", or "none" (including an image too short to hold a header).
func Encryption(head []byte) string {
	if len(head) < len(luksMagic)+2 || !bytes.Equal(head[:len(luksMagic)], luksMagic) {
		return "none"
	}
	switch v := int(head[6])<<8 | int(head[7]); v {
	case 1:
		return "luks1"
	case 2:
		return "luks2"
	default:
		return "luks version " + strconv.Itoa(v)
	}
}
