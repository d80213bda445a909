package model

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	good := map[string]uint64{
		"10G":        10 << 30,
		"10GiB":      10 << 30,
		"10gib":      10 << 30,
		"10GB":       10_000_000_000,
		"500M":       500 << 20,
		"1.5T":       3 << 39,
		"1073741824": 1 << 30,
		"4096 bytes": 4096,
		" 1K ":       1024,
		"16E":        0, // overflow, checked below
	}
	for in, want := range good {
		got, err := ParseSize(in)
		if want == 0 {
			if err == nil || !strings.Contains(err.Error(), "overflows") {
				t.Errorf("ParseSize(%q) = %d, %v; want an overflow error", in, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":      "empty",
		"0":     "zero",
		"0G":    "zero",
		"-1G":   "negative",
		"G":     "does not start with a number",
		"10X":   "unknown unit",
		"1.2.3": "not a number",
		"0.5":   "whole number of bytes",
	}
	for in, msg := range bad {
		if _, err := ParseSize(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseSize(%q) error = %v; want one mentioning %q", in, err, msg)
		}
	}
}

func TestScaleUnit(t *testing.T) {
	if got, err := ScaleUnit(2, "KiB"); err != nil || got != 2048 {
		t.Errorf("2 KiB = %d, %v", got, err)
	}
	if got, err := ScaleUnit(7, "bytes"); err != nil || got != 7 {
		t.Errorf("7 bytes = %d, %v", got, err)
	}
	if _, err := ScaleUnit(1, "furlong"); err == nil {
		t.Error("unknown unit accepted")
	}
	if _, err := ScaleUnit(1<<60, "T"); err == nil {
		t.Error("overflow accepted")
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"10G", "1.5T", "-1", "99999999999999999999E", "0.0001K"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n == 0 {
			t.Fatalf("ParseSize(%q) accepted zero", s)
		}
	})
}
