package model

import (
	"strings"
	"testing"
)

func TestParseSizeChange(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    SizeChange
		wantErr string
	}{
		{in: "20G", want: SizeChange{Bytes: 20 << 30}},
		{in: " +5G ", want: SizeChange{Bytes: 5 << 30, Relative: true}},
		{in: "+512MiB", want: SizeChange{Bytes: 512 << 20, Relative: true}},
		{in: "-5G", wantErr: "only grows"},
		{in: "+", wantErr: "empty"},
		{in: "+0", wantErr: "zero"},
		{in: "abc", wantErr: "does not start with a number"},
	} {
		got, err := ParseSizeChange(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: err %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestSizeChangeTarget(t *testing.T) {
	if n, _ := (SizeChange{Bytes: 5, Relative: true}).Target(10); n != 15 {
		t.Errorf("relative: %d", n)
	}
	if n, _ := (SizeChange{Bytes: 5}).Target(10); n != 5 {
		t.Errorf("absolute: %d", n)
	}
	if _, err := (SizeChange{Bytes: 2, Relative: true}).Target(^uint64(0)); err == nil {
		t.Error("overflow not caught")
	}
	p := ResizePlan("d", 10, 20, "libvirt")
	if !p[0].Irreversible || !strings.Contains(p[0].Title, "cannot be undone") || p[1].Irreversible {
		t.Errorf("plan %+v", p)
	}
}

func TestResizeAbility(t *testing.T) {
	for _, pt := range []PoolType{PoolDir, PoolFS, PoolNetFS, PoolRBD} {
		if ok, why := ResizeAbility(pt); !ok {
			t.Errorf("%s: %s", pt, why)
		}
	}
	for pt, want := range map[PoolType]string{PoolLogical: "lvextend -L +SIZE", PoolDisk: "partition", PoolISCSIDirect: "on the SAN", PoolZFS: "zfs"} {
		if ok, why := ResizeAbility(pt); ok || !strings.Contains(why, want) {
			t.Errorf("%s: %v %q; want refused naming %q", pt, ok, why, want)
		}
	}
}
