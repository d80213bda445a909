package iscsi

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// ProbeBytes is how much of each chosen LUN is read for signatures: 128
// KiB covers btrfs's superblock (64 KiB + 64 B) and swap signatures on
// pages of up to 64 KiB.
const ProbeBytes = 128 << 10

// Signature is one thing found on a LUN: what it is and, where the bytes
// say, its UUID or label.
type Signature struct {
	Kind   string `json:"kind"`
	Detail string `json:"detail,omitempty"`
	// Leftover marks what holds no data (the metadata area a pvremove
	// leaves behind): shown, but nothing to confirm.
	Leftover bool `json:"leftover,omitempty"`
}

func (s Signature) String() string {
	if s.Detail == "" {
		return s.Kind
	}
	return s.Kind + " (" + s.Detail + ")"
}

// DetectSignatures finds what the first bytes of a disk hold. libvirt's
// own probe sees only partition tables and LVM; whole-disk file systems,
// LUKS and swap are invisible to it, and building a VG would wipe them
// without a word. Bytes that are not all zero but match nothing known are
// reported too: "unrecognised" is not "empty".
func DetectSignatures(head []byte) []Signature {
	var out []Signature
	add := func(kind, detail string) { out = append(out, Signature{Kind: kind, Detail: detail}) }
	at := func(off int, magic string) bool {
		return off >= 0 && off+len(magic) <= len(head) && string(head[off:off+len(magic)]) == magic
	}
	if at(0, "LUKS\xba\xbe") {
		d := ""
		if len(head) >= 8 {
			d = fmt.Sprintf("version %d", binary.BigEndian.Uint16(head[6:8]))
		}
		add("LUKS", join(d, field("UUID", cstr(head, 168, 40))))
	}
	if at(0, "XFSB") {
		add("xfs file system", join(field("UUID", uuidAt(head, 32)), field("label", cstr(head, 108, 12))))
	}
	if len(head) >= 1082 && binary.LittleEndian.Uint16(head[1080:1082]) == 0xEF53 {
		kind := "ext2 file system"
		if len(head) >= 1124 {
			compat := binary.LittleEndian.Uint32(head[1024+92:])
			incompat := binary.LittleEndian.Uint32(head[1024+96:])
			switch {
			case incompat&0x2C0 != 0: // extents, 64bit, flex_bg
				kind = "ext4 file system"
			case compat&0x4 != 0: // has_journal
				kind = "ext3 file system"
			}
		}
		add(kind, join(field("UUID", uuidAt(head, 1024+104)), field("label", cstr(head, 1024+120, 16))))
	}
	if at(0x10040, "_BHRfS_M") {
		add("btrfs file system", join(field("UUID", uuidAt(head, 0x10020)), field("label", cstr(head, 0x1012B, 256))))
	}
	for _, page := range []int{4096, 8192, 16384, 65536} {
		if at(page-10, "SWAPSPACE2") || at(page-10, "SWAP-SPACE") {
			add("swap", join(field("UUID", uuidAt(head, 1024+12)), field("label", cstr(head, 1024+28, 16))))
			break
		}
	}
	for sector := range 4 {
		off := sector * 512
		if at(off, "LABELONE") && at(off+24, "LVM2 001") {
			add("LVM2 physical volume", field("PV UUID", cstr(head, off+32, 32)))
			break
		}
	}
	lvmLabel := slices.ContainsFunc(out, func(s Signature) bool { return s.Kind == "LVM2 physical volume" })
	// pvremove wipes the label but leaves the metadata area (its header at
	// 4 KiB, then the old VG text): no PV, no data, and every LUN stowage
	// tore down looks like this.
	mdaLeft := !lvmLabel && at(4096+4, " LVM2 x[5A%r0N*>")
	gpt := at(512, "EFI PART") || at(4096, "EFI PART")
	if gpt {
		add("GPT partition table", "")
	}
	if !gpt && len(head) >= 512 && head[510] == 0x55 && head[511] == 0xAA {
		switch {
		case at(3, "NTFS    "):
			add("NTFS file system", "")
		case at(54, "FAT12   ") || at(54, "FAT16   ") || at(82, "FAT32   "):
			add("FAT file system", "")
		default:
			add("DOS (MBR) partition table or boot sector", "")
		}
	}
	if at(32769, "CD001") {
		add("ISO 9660 file system", "")
	}
	if len(out) == 0 && mdaLeft {
		return []Signature{{Kind: "LVM2 metadata left by a removed PV", Detail: "no PV label, no data", Leftover: true}}
	}
	if len(out) == 0 {
		if i := slices.IndexFunc(head, func(b byte) bool { return b != 0 }); i >= 0 {
			add("unrecognised data", fmt.Sprintf("non-zero bytes from offset %d", i))
		}
	}
	return out
}

func field(name, v string) string {
	if v == "" {
		return ""
	}
	return name + " " + v
}

func join(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ", ")
}

// cstr reads a NUL-terminated string of at most n bytes at off, printable
// ASCII only (a label is shown on a terminal).
func cstr(b []byte, off, n int) string {
	if off >= len(b) {
		return ""
	}
	s := b[off:min(off+n, len(b))]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, string(s))
}

// uuidAt formats 16 bytes at off as a UUID ("" when they are all zero).
func uuidAt(b []byte, off int) string {
	if off+16 > len(b) {
		return ""
	}
	u := b[off : off+16]
	if bytes.Equal(u, make([]byte, 16)) {
		return ""
	}
	h := hex.EncodeToString(u)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// LUNFindings is what the probe found on one chosen LUN.
type LUNFindings struct {
	Number     int         `json:"lun"`
	Path       string      `json:"path"`
	Capacity   uint64      `json:"capacity"`
	Signatures []Signature `json:"signatures"`
	// Read is how many bytes were read (less than ProbeBytes on a LUN
	// smaller than that).
	Read int `json:"read"`
}

// Findings is what a probe found on exactly the chosen LUNs of a target.
// An overwrite is confirmed by its Token: the token changes when any
// finding, the LUN set or the target changes, so a confirmation can
// neither be given in advance nor carried over to other LUNs.
type Findings struct {
	Target string        `json:"target"`
	LUNs   []LUNFindings `json:"luns"`
}

// Empty reports whether nothing that holds data (no signature other than
// a leftover) was found on any chosen LUN.
func (f Findings) Empty() bool {
	for _, l := range f.LUNs {
		for _, s := range l.Signatures {
			if !s.Leftover {
				return false
			}
		}
	}
	return true
}

// Token is what the admin types to confirm overwriting exactly these
// findings: "wipe-" and 8 hex digits of a hash over the target, each
// chosen LUN (number, path, size) and what was found on it. "" when
// nothing was found (there is nothing to confirm).
func (f Findings) Token() string {
	if f.Empty() {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "target %s\n", f.Target)
	luns := slices.Clone(f.LUNs)
	slices.SortFunc(luns, func(a, b LUNFindings) int { return a.Number - b.Number })
	for _, l := range luns {
		fmt.Fprintf(h, "lun %d %s %d\n", l.Number, l.Path, l.Capacity)
		for _, s := range l.Signatures {
			fmt.Fprintf(h, "  %s\t%s\n", s.Kind, s.Detail)
		}
	}
	return "wipe-" + hex.EncodeToString(h.Sum(nil))[:8]
}

// Lines describes the findings for people, one line per LUN; a LUN with
// no signature says how much was read rather than calling it empty.
func (f Findings) Lines() []string {
	var out []string
	for _, l := range f.LUNs {
		if len(l.Signatures) == 0 {
			out = append(out, fmt.Sprintf("LUN %d: no signature found in the first %d KiB", l.Number, l.Read/1024))
			continue
		}
		if len(l.Signatures) == 1 && l.Signatures[0].Leftover {
			out = append(out, fmt.Sprintf("LUN %d: no signature found in the first %d KiB; %s", l.Number, l.Read/1024, l.Signatures[0]))
			continue
		}
		var s []string
		for _, sig := range l.Signatures {
			s = append(s, sig.String())
		}
		out = append(out, fmt.Sprintf("LUN %d: %s", l.Number, strings.Join(s, "; ")))
	}
	return out
}
