package iscsi

import (
	"encoding/binary"
	"strings"
	"testing"
)

func TestDetectSignatures(t *testing.T) {
	put := func(b []byte, off int, s string) []byte { copy(b[off:], s); return b }
	blank := func() []byte { return make([]byte, ProbeBytes) }
	ext := func(compat, incompat uint32) []byte {
		b := blank()
		binary.LittleEndian.PutUint16(b[1080:], 0xEF53)
		binary.LittleEndian.PutUint32(b[1024+92:], compat)
		binary.LittleEndian.PutUint32(b[1024+96:], incompat)
		return b
	}
	mbr := func() []byte { b := blank(); b[510], b[511] = 0x55, 0xAA; return b }
	cases := []struct {
		name string
		head []byte
		want string
	}{
		{"ext2", ext(0, 0), "ext2 file system"},
		{"ext3", ext(0x4, 0), "ext3 file system"},
		{"ext4", ext(0x4, 0x40), "ext4 file system"},
		{"xfs", put(blank(), 0, "XFSB"), "xfs file system"},
		{"luks", put(put(blank(), 0, "LUKS\xba\xbe\x00\x02"), 168, "0b1c2d3e-aaaa-bbbb-cccc-000000000001"), "LUKS (version 2, UUID 0b1c2d3e-aaaa-bbbb-cccc-000000000001)"},
		{"btrfs", put(blank(), 0x10040, "_BHRfS_M"), "btrfs file system"},
		{"swap 4k", put(blank(), 4096-10, "SWAPSPACE2"), "swap"},
		{"swap 64k", put(blank(), 65536-10, "SWAPSPACE2"), "swap"},
		{"lvm sector 1", put(put(blank(), 512, "LABELONE"), 512+24, "LVM2 001"), "LVM2 physical volume"},
		{"gpt", put(mbr(), 512, "EFI PART"), "GPT partition table"},
		{"mbr", mbr(), "DOS (MBR) partition table"},
		{"ntfs", put(mbr(), 3, "NTFS    "), "NTFS file system"},
		{"fat32", put(mbr(), 82, "FAT32   "), "FAT file system"},
		{"iso", put(blank(), 32769, "CD001"), "ISO 9660 file system"},
		{"garbage", put(blank(), 777, "x"), "unrecognised data (non-zero bytes from offset 777)"},
		{"removed PV", put(put(blank(), 4096, "\x16\xd6\x8e\xdb LVM2 x[5A%r0N*>"), 4096+1024, "vg0 { id = ..."), "LVM2 metadata left by a removed PV"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := DetectSignatures(c.head)
			if len(got) != 1 || !strings.HasPrefix(got[0].String(), c.want) {
				t.Fatalf("DetectSignatures = %v, want one starting %q", got, c.want)
			}
		})
	}
	if got := DetectSignatures(blank()); len(got) != 0 {
		t.Errorf("zeros: %v", got)
	}
	// A short read (a LUN smaller than the probe) must not panic.
	if got := DetectSignatures([]byte("XFSB")); len(got) != 1 {
		t.Errorf("short xfs head: %v", got)
	}
}

func TestFindingsToken(t *testing.T) {
	f := Findings{Target: "iqn.x:a", LUNs: []LUNFindings{{Number: 1, Path: "/p1", Capacity: 1, Read: ProbeBytes},
		{Number: 2, Path: "/p2", Capacity: 1, Read: ProbeBytes, Signatures: []Signature{{Kind: "xfs file system"}}}}}
	tok := f.Token()
	if !strings.HasPrefix(tok, "wipe-") || len(tok) != 13 {
		t.Fatalf("token %q", tok)
	}
	g := f
	g.LUNs = []LUNFindings{f.LUNs[1], f.LUNs[0]}
	if g.Token() != tok {
		t.Error("the token depends on LUN order")
	}
	g = f
	g.LUNs = []LUNFindings{f.LUNs[1]}
	if g.Token() == tok {
		t.Error("the token does not change with the LUN set")
	}
	g = f
	g.Target = "iqn.x:b"
	if g.Token() == tok {
		t.Error("the token does not change with the target")
	}
	if (Findings{LUNs: []LUNFindings{{Number: 1}}}).Token() != "" {
		t.Error("nothing found must need no token")
	}
	left := Findings{LUNs: []LUNFindings{{Number: 1, Signatures: []Signature{{Kind: "LVM2 metadata left by a removed PV", Leftover: true}}}}}
	if !left.Empty() || left.Token() != "" {
		t.Error("a removed PV's metadata must need no token")
	}
	if l := f.Lines(); l[0] != "LUN 1: no signature found in the first 128 KiB" || l[1] != "LUN 2: xfs file system" {
		t.Errorf("lines %q", l)
	}
}
