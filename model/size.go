package model

import (
	"fmt"
	"math"
	"math/big"
	"strings"
)

// Units follow virsh and libvirt's XML (virScaleInteger), which admins
// already type: a bare letter or "iB" is a power of 1024 (10G = 10 GiB, as
// in `virsh vol-create-as` and `qemu-img create`), a letter followed by "B"
// is a power of 1000 (10GB = 10×10^9 bytes). This is why stowage does not
// use go-humanize's ParseBytes, where 10G means 10×10^9 bytes.
var unitScale = map[string]uint64{}

func init() {
	letters := "KMGTPE"
	for i, l := range letters {
		bin := uint64(1) << (10 * (i + 1))
		dec := uint64(math.Pow(1000, float64(i+1)))
		ls := string(l)
		for _, u := range []string{ls, ls + "iB"} {
			unitScale[strings.ToLower(u)] = bin
		}
		unitScale[strings.ToLower(ls+"B")] = dec
	}
	for _, u := range []string{"", "b", "byte", "bytes"} {
		unitScale[u] = 1
	}
}

// ScaleUnit converts a libvirt XML size (value and unit attribute) to bytes.
func ScaleUnit(value uint64, unit string) (uint64, error) {
	scale, ok := unitScale[strings.ToLower(strings.TrimSpace(unit))]
	if !ok {
		return 0, fmt.Errorf("unknown size unit %q (use bytes, K/KiB, KB, M/MiB, MB, G/GiB, GB, T/TiB, TB)", unit)
	}
	if scale != 0 && value > math.MaxUint64/scale {
		return 0, fmt.Errorf("size %d %s overflows 64 bits", value, unit)
	}
	return value * scale, nil
}

// ParseSize parses a size as an admin types it: "10G", "10GiB", "500M",
// "1.5T", "1073741824". Zero, negative, overflowing and unknown units are
// refused with a message that says what would be right.
func ParseSize(s string) (uint64, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("size is empty: give a number with a unit, e.g. 10G, 500MiB or 1.5T")
	}
	if strings.HasPrefix(in, "-") {
		return 0, fmt.Errorf("size %q is negative: give a positive size such as 10G", s)
	}
	i := 0
	for i < len(in) && (in[i] >= '0' && in[i] <= '9' || in[i] == '.') {
		i++
	}
	num, unit := in[:i], strings.TrimSpace(in[i:])
	if num == "" {
		return 0, fmt.Errorf("size %q does not start with a number: write e.g. 10G", s)
	}
	scale, ok := unitScale[strings.ToLower(unit)]
	if !ok {
		return 0, fmt.Errorf("size %q has unknown unit %q: use K, M, G, T, P (powers of 1024, also KiB…), KB, MB, GB, TB (powers of 1000) or bytes", s, unit)
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, fmt.Errorf("size %q: %q is not a number", s, num)
	}
	r.Mul(r, new(big.Rat).SetUint64(scale))
	if !r.IsInt() {
		// 1.5T is whole bytes; 0.3 bytes is not. Round down to whole bytes
		// the way virsh does, but refuse to round a fraction of a byte.
		if scale == 1 {
			return 0, fmt.Errorf("size %q is not a whole number of bytes", s)
		}
		r.SetInt(new(big.Int).Quo(r.Num(), r.Denom()))
	}
	n := r.Num()
	if !n.IsUint64() {
		return 0, fmt.Errorf("size %q overflows 64 bits: the largest size is 16 EiB", s)
	}
	if n.Uint64() == 0 {
		return 0, fmt.Errorf("size %q is zero: give a size such as 10G", s)
	}
	return n.Uint64(), nil
}
