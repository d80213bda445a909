package model

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DriveEncryption is what the admin asks for: none, luks (QEMU-layer LUKS
// on file, LVM and disk pools; LUKS1 through librbd on rbd pools), luks1
// or luks2 (rbd pools only, formatted by librbd).
type DriveEncryption string

// Drive encryption choices, as typed on the command line.
const (
	EncryptNone  DriveEncryption = "none"
	EncryptLUKS  DriveEncryption = "luks"
	EncryptLUKS1 DriveEncryption = "luks1"
	EncryptLUKS2 DriveEncryption = "luks2"
)

// LUKS header sizes librbd reserves at the start of an encrypted image;
// the guest sees the image size minus this.
const (
	LUKS1HeaderBytes = 4 << 20
	LUKS2HeaderBytes = 16 << 20
)

// MaxVolumeNameBytes is stowage's limit for a volume name. libvirt has no
// limit of its own, but file pools store the name as a file name, and
// NAME_MAX is 255 bytes on every Linux file system.
const MaxVolumeNameBytes = 255

// AttachMode says where a disk is attached: the running VM (live), its
// persistent config, or both.
type AttachMode struct {
	Live       bool `json:"live"`
	Persistent bool `json:"persistent"`
}

// String is "live", "persistent", "live+persistent" or "none".
func (a AttachMode) String() string {
	switch {
	case a.Live && a.Persistent:
		return "live+persistent"
	case a.Live:
		return "live"
	case a.Persistent:
		return "persistent"
	}
	return "none"
}

// HotplugFallback is the admin's choice when a librbd-encrypted disk
// cannot be hot-plugged (libvirt 9.0 fails with "No secret with id
// '…-format-encryption-secret0'"). stowage never picks one silently.
type HotplugFallback string

// The hot-plug fallbacks.
const (
	// FallbackNone fails and explains the choices.
	FallbackNone HotplugFallback = ""
	// FallbackNextStart attaches to the persistent config only; the disk
	// appears, decrypted by librbd, at the VM's next start.
	FallbackNextStart HotplugFallback = "next-start"
	// FallbackQEMU attaches live with QEMU-layer decryption (LUKS1 images
	// only; up to -43% sequential read throughput, seed 003) and the
	// persistent config with librbd, so the next start is fast again.
	FallbackQEMU HotplugFallback = "qemu"
)

// QEMULayerCost is what the QEMU-layer fallback costs, in words the admin
// sees before choosing it.
const QEMULayerCost = "QEMU-layer decryption runs on one thread: measured up to -43% sequential " +
	"read and -23% sequential write throughput against librbd's -0.5%/-8% (1M blocks, QD8)"

// DriveSpec is one drive to create.
type DriveSpec struct {
	Host     string   `json:"host"`
	Pool     string   `json:"pool"`
	PoolType PoolType `json:"pool_type"`
	Name     string   `json:"name"`
	// Size is what the guest sees, in bytes.
	Size       uint64          `json:"size"`
	Format     string          `json:"format"`
	Encryption DriveEncryption `json:"encryption"`
	// Cipher is "" for libvirt's default or a name such as
	// aes-256-xts-plain64 (QEMU-layer LUKS only).
	Cipher   string          `json:"cipher,omitempty"`
	AttachVM string          `json:"attach_vm,omitempty"`
	Attach   AttachMode      `json:"attach"`
	Fallback HotplugFallback `json:"hotplug_fallback,omitempty"`
}

// Encrypted reports whether the drive gets a LUKS header and a secret.
func (s DriveSpec) Encrypted() bool {
	return s.Encryption != "" && s.Encryption != EncryptNone
}

// LibrbdFormat is the format librbd writes ("luks1" or "luks2") on rbd
// pools, "" elsewhere.
func (s DriveSpec) LibrbdFormat() string {
	if s.PoolType != PoolRBD || !s.Encrypted() {
		return ""
	}
	if s.Encryption == EncryptLUKS2 {
		return "luks2"
	}
	return "luks1"
}

// DiskEncryptionFormat is the format attribute of the disk's <encryption>
// for the librbd engine: luks or luks2.
func (s DriveSpec) DiskEncryptionFormat() string {
	if s.LibrbdFormat() == "luks2" {
		return "luks2"
	}
	return "luks"
}

// AllocatedSize is the size to create: for librbd LUKS the image grows by
// the header so that the guest sees Size. QEMU-layer LUKS volumes are sized
// by libvirt (qemu-img adds the header itself).
func (s DriveSpec) AllocatedSize() (uint64, error) {
	var hdr uint64
	switch s.LibrbdFormat() {
	case "luks1":
		hdr = LUKS1HeaderBytes
	case "luks2":
		hdr = LUKS2HeaderBytes
	}
	if s.Size > ^uint64(0)-hdr {
		return 0, fmt.Errorf("size %d plus the %d-byte LUKS header overflows 64 bits", s.Size, hdr)
	}
	return s.Size + hdr, nil
}

// SecretUsage is the usage id of the drive's volume secret: the volume's
// path, or pool/image for RBD (cephPool is the pool's Ceph pool name).
func SecretUsage(poolType PoolType, volumePath, cephPool, image string) string {
	if poolType == PoolRBD {
		return cephPool + "/" + image
	}
	return volumePath
}

// SecretDescription names the drive in its secret, so that `virsh
// secret-list` says what each secret is for.
func SecretDescription(host, pool, name string) string {
	return fmt.Sprintf("stowage drive %s/%s on %s", pool, name, host)
}

// ValidateDriveName checks a drive name against libvirt's volume rules
// (no '/', not "." or "..", no control characters, at most 255 bytes) and,
// on rbd pools, RBD's ('@' is the snapshot separator). existing are the
// names already in the pool.
func ValidateDriveName(name string, t PoolType, existing []string) error {
	switch {
	case name == "":
		return fmt.Errorf("name is empty")
	case !utf8.ValidString(name):
		return fmt.Errorf("name is not valid UTF-8")
	case name == "." || name == "..":
		return fmt.Errorf("name %q is reserved (it means a directory)", name)
	case len(name) > MaxVolumeNameBytes:
		return fmt.Errorf("name is %d bytes long; the limit is %d (a file name)", len(name), MaxVolumeNameBytes)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("name %q starts or ends with a space", name)
	}
	for _, r := range name {
		switch {
		case r == '/':
			return fmt.Errorf("name %q contains '/': a volume name is a file name, not a path", name)
		case unicode.IsControl(r):
			return fmt.Errorf("name %q contains a control character (%U)", name, r)
		case r == '@' && t == PoolRBD:
			return fmt.Errorf("name %q contains '@', which RBD reserves for snapshots (image@snap)", name)
		}
	}
	if t == PoolRBD && strings.HasPrefix(name, ".") {
		return fmt.Errorf("name %q starts with '.', which rbd hides and reserves for its own objects", name)
	}
	for _, e := range existing {
		if e == name {
			return fmt.Errorf("a volume named %q already exists in this pool", name)
		}
	}
	return nil
}

// ValidateFormat says which formats a pool type takes: raw or qcow2 on
// file pools, raw elsewhere. "" means raw.
func ValidateFormat(format string, t PoolType) (string, error) {
	if format == "" {
		format = "raw"
	}
	switch format {
	case "raw":
		return format, nil
	case "qcow2":
		if FilePool(t) {
			return format, nil
		}
		return "", fmt.Errorf("format qcow2 needs a file pool (dir, fs, netfs); %s pools hold raw volumes only", t)
	}
	return "", fmt.Errorf("format %q is unknown: use raw or qcow2", format)
}

// FilePool reports whether volumes of this pool type are files.
func FilePool(t PoolType) bool { return t == PoolDir || t == PoolFS || t == PoolNetFS }

// CanOvercommit reports whether a pool type hands out space lazily: sparse
// files and thin RBD images can be larger than the free space; LVs and
// partitions cannot.
func CanOvercommit(t PoolType) bool { return t != PoolLogical && t != PoolDisk }

// CheckCapacity compares a new drive with the pool's available space. It
// refuses what cannot fit in a pool that cannot over-commit and returns a
// warning (empty when none) where over-committing is possible.
func CheckCapacity(size uint64, p Pool) (warning string, err error) {
	if p.Available >= size {
		return "", nil
	}
	msg := fmt.Sprintf("%s requested but pool %s has %s available", IBytes(size), p.Name, IBytes(p.Available))
	if !CanOvercommit(p.Type) {
		return "", fmt.Errorf("%s; %s pools cannot over-commit", msg, p.Type)
	}
	return msg + ": the pool is over-committed and writes fail once it is full", nil
}

// ValidateEncryption checks an encryption choice against the pool type
// and normalises it.
func ValidateEncryption(e DriveEncryption, t PoolType) (DriveEncryption, error) {
	if e == "" {
		e = EncryptNone
	}
	kinds := EncryptionKinds(t)
	switch e {
	case EncryptNone:
		return e, nil
	case EncryptLUKS:
		if len(kinds) == 0 {
			return "", fmt.Errorf("stowage cannot encrypt drives in %s pools", t)
		}
		return e, nil
	case EncryptLUKS1, EncryptLUKS2:
		if t != PoolRBD {
			if len(kinds) > 0 && e == EncryptLUKS1 {
				return EncryptLUKS, nil
			}
			return "", fmt.Errorf("%s is formatted by librbd and exists on rbd pools only; use luks (QEMU-layer LUKS1) on %s pools", e, t)
		}
		return e, nil
	}
	return "", fmt.Errorf("encryption %q is unknown: use none, luks, luks1 or luks2", e)
}

// Cipher is a LUKS cipher choice for QEMU-layer volumes.
type Cipher struct {
	Name   string // aes
	Size   uint64 // 256
	Mode   string // xts
	Hash   string // sha256
	IVGen  string // plain64
	IVHash string // sha256
}

// RecommendedCipher is what stowage offers first: AES-256 in XTS mode,
// the LUKS2/cryptsetup default, with sha256.
const RecommendedCipher = "aes-256-xts-plain64"

// LibvirtDefaultCipher is what libvirt's storage driver (qemu-img) uses
// when no cipher is given.
const LibvirtDefaultCipher = "aes-256-cbc-essiv:sha256"

// ParseCipher reads NAME-SIZE-MODE-IVGEN[:IVHASH] (cryptsetup's spelling,
// e.g. aes-256-xts-plain64 or aes-256-cbc-essiv:sha256); the hash is
// sha256. "" means libvirt's default and returns nil.
func ParseCipher(s string) (*Cipher, error) {
	if s == "" || s == "default" {
		return nil, nil
	}
	parts := strings.Split(s, "-")
	if len(parts) != 4 {
		return nil, fmt.Errorf("cipher %q: write NAME-BITS-MODE-IVGEN, e.g. %s", s, RecommendedCipher)
	}
	bits, err := strconv.ParseUint(parts[1], 10, 16)
	if err != nil || (bits != 128 && bits != 192 && bits != 256 && bits != 512) {
		return nil, fmt.Errorf("cipher %q: key size %q must be 128, 192, 256 or 512", s, parts[1])
	}
	c := &Cipher{Name: parts[0], Size: bits, Mode: parts[2], Hash: "sha256"}
	c.IVGen, c.IVHash, _ = strings.Cut(parts[3], ":")
	for _, f := range []string{c.Name, c.Mode, c.IVGen} {
		if f == "" || strings.ContainsFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			return nil, fmt.Errorf("cipher %q: %q is not a name", s, f)
		}
	}
	if c.IVGen == "essiv" && c.IVHash == "" {
		c.IVHash = "sha256"
	}
	return c, nil
}

// NextFreeTarget returns the first vdX (vda…vdz, vdaa…) not in used.
func NextFreeTarget(used []string) string {
	taken := map[string]bool{}
	for _, u := range used {
		taken[u] = true
	}
	for i := 0; ; i++ {
		t := "vd" + diskSuffix(i)
		if !taken[t] {
			return t
		}
	}
}

// diskSuffix is libvirt's virDiskNameToIndex in reverse: 0→a, 25→z, 26→aa.
func diskSuffix(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('a'+(i-1)%26)) + s
	}
	return s
}

// IBytes formats bytes as 1.5 GiB (no dependency on humanize in model).
func IBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
