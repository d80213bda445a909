package model

import (
	"strings"
	"testing"
	"time"
)

func TestMeterRateAndETA(t *testing.T) {
	var m Meter
	if _, ok := m.Rate(); ok {
		t.Fatal("rate known before any report")
	}
	m.Add(Sample{Elapsed: 0, Done: 0})
	if _, ok := m.Rate(); ok {
		t.Fatal("rate known from one report")
	}
	m.Add(Sample{Elapsed: time.Second, Done: 10 << 20})
	r, ok := m.Rate()
	if !ok || r != 10<<20 {
		t.Fatalf("rate %v %v, want 10 MiB/s", r, ok)
	}
	eta, ok := ETA(10<<20, 100<<20, r)
	if !ok || eta != 9*time.Second {
		t.Fatalf("ETA %v %v, want 9s", eta, ok)
	}
	// The window follows a slowdown: after 5 s at 1 MiB/s the early burst
	// no longer counts.
	done := uint64(10 << 20)
	for s := 2; s <= 7; s++ {
		done += 1 << 20
		m.Add(Sample{Elapsed: time.Duration(s) * time.Second, Done: done})
	}
	if r, _ := m.Rate(); r != 1<<20 {
		t.Fatalf("windowed rate %v, want 1 MiB/s", r)
	}
	// A report going back in time restarts the meter.
	m.Add(Sample{Elapsed: time.Second, Done: 1})
	if _, ok := m.Rate(); ok {
		t.Fatal("rate kept across a restart")
	}
}

func TestETAEdges(t *testing.T) {
	if _, ok := ETA(1, 10, 0); ok {
		t.Error("ETA known at zero rate")
	}
	if d, ok := ETA(10, 10, 0); !ok || d != 0 {
		t.Errorf("finished: %v %v", d, ok)
	}
	if _, ok := Rate(Sample{Elapsed: time.Second, Done: 5}, Sample{Elapsed: time.Second, Done: 9}); ok {
		t.Error("rate over zero time")
	}
	for d, want := range map[time.Duration]string{7 * time.Second: "7s", 125 * time.Second: "2m05s", 3723 * time.Second: "1h02m03s"} {
		if got := FormatETA(d); got != want {
			t.Errorf("FormatETA(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestTransferLine(t *testing.T) {
	var m Meter
	m.Add(Sample{Elapsed: 0, Done: 0})
	m.Add(Sample{Elapsed: 2 * time.Second, Done: 32 << 20})
	got := TransferLine(32<<20, 64<<20, &m)
	for _, want := range []string{" 50%", "32.0 MiB / 64.0 MiB", "16.0 MiB/s", "ETA 2s"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
}

func TestWipeAlgorithmsAndSupport(t *testing.T) {
	for i, a := range WipeAlgorithms {
		n, err := WipeAlgorithm(a)
		if err != nil || n != uint32(i) {
			t.Errorf("%s: %d %v, want %d", a, n, err, i)
		}
	}
	if n, _ := WipeAlgorithm("trim"); n != 9 {
		t.Errorf("trim is %d, libvirt's VIR_STORAGE_VOL_WIPE_ALG_TRIM is 9", n)
	}
	if _, err := WipeAlgorithm("shred"); err == nil || !strings.Contains(err.Error(), "zero, nnsa, dod, bsi, gutmann, schneier, pfitzner7, pfitzner33, random, trim") {
		t.Errorf("bad name: %v", err)
	}
	cases := []struct {
		t        PoolType
		alg, err string
		note     bool
	}{
		{PoolRBD, "zero", "", false}, {PoolRBD, "trim", "", false}, {PoolRBD, "dod", "zero or trim only", false},
		{PoolISCSIDirect, "random", "zero only", false},
		{PoolDir, "zero", "", false}, {PoolDir, "trim", "does not trim", false}, {PoolLogical, "gutmann", "", true},
	}
	for _, c := range cases {
		note, err := WipeSupport(c.t, c.alg)
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s %s: %v, want %q", c.t, c.alg, err, c.err)
		}
		if (note != "") != c.note || (c.note && !strings.Contains(note, "scrub")) {
			t.Errorf("%s %s: note %q", c.t, c.alg, note)
		}
	}
}

func TestTransferSupport(t *testing.T) {
	if err := TransferSupport(PoolDir, true); err != nil {
		t.Error(err)
	}
	if err := TransferSupport(PoolRBD, true); err == nil || !strings.Contains(err.Error(), "rbd import") {
		t.Errorf("rbd upload: %v", err)
	}
	if err := TransferSupport(PoolRBD, false); err == nil || !strings.Contains(err.Error(), "rbd export") {
		t.Errorf("rbd download: %v", err)
	}
}

func TestVolumeStampSame(t *testing.T) {
	a := VolumeStamp{Key: "/p/v", Changed: "1.5"}
	if err := a.Same(a); err != nil {
		t.Error(err)
	}
	if err := a.Same(VolumeStamp{Key: "/p/v", Changed: "2.0"}); err == nil || !strings.Contains(err.Error(), "replaced") {
		t.Errorf("recreated: %v", err)
	}
	if err := a.Same(VolumeStamp{Key: "/p/w", Changed: "1.5"}); err == nil {
		t.Error("other key accepted")
	}
	r := VolumeStamp{Key: "p/i", ImageID: "abc"}
	if err := r.Same(VolumeStamp{Key: "p/i", ImageID: "def"}); err == nil {
		t.Error("other image id accepted")
	}
}
