package drive

import (
	"strings"
	"testing"

	"stowage/model"
)

func TestResizeCheck(t *testing.T) {
	plain := ResizeTarget{Volume: model.Volume{Name: "d"}, GuestSize: 32 << 20}
	luks := plain
	luks.Encryption = "luks"
	rbd2 := plain
	rbd2.Encryption, rbd2.Header = "luks2", model.LUKS2HeaderBytes
	open1 := plain
	open1.Open = []Opener{{Host: "h", VM: "vm1", Target: "vdb"}}
	open2 := plain
	open2.Open = []Opener{{Host: "h", VM: "vm1", Target: "vdb"}, {Host: "h2", VM: "vm2", Target: "vdc"}}
	abs := func(n uint64) model.SizeChange { return model.SizeChange{Bytes: n} }
	for _, c := range []struct {
		name    string
		t       ResizeTarget
		c       model.SizeChange
		shrink  bool
		confirm string
		want    uint64
		wantErr string
	}{
		{name: "grow relative", t: plain, c: model.SizeChange{Bytes: 8 << 20, Relative: true}, want: 40 << 20},
		{name: "grow luks", t: luks, c: abs(64 << 20), want: 64 << 20},
		{name: "grow librbd", t: rbd2, c: abs(64 << 20), want: 64 << 20},
		{name: "grow live", t: open1, c: abs(64 << 20), want: 64 << 20},
		{name: "same", t: plain, c: abs(32 << 20), wantErr: "nothing to change"},
		{name: "not sectors", t: plain, c: abs(32<<20 + 1), wantErr: "512-byte sectors"},
		{name: "luks shrink", t: luks, c: abs(16 << 20), shrink: true, confirm: "d", wantErr: "never shrinks an encrypted drive"},
		{name: "librbd shrink", t: rbd2, c: abs(16 << 20), shrink: true, confirm: "d", wantErr: "never shrinks"},
		{name: "shrink unasked", t: plain, c: abs(16 << 20), wantErr: "--shrink --confirm d"},
		{name: "shrink wrong name", t: plain, c: abs(16 << 20), shrink: true, confirm: "e", wantErr: "repeat the name (--confirm d)"},
		{name: "shrink live", t: open1, c: abs(16 << 20), shrink: true, confirm: "d", wantErr: "running VM vm1"},
		{name: "shrink plain", t: plain, c: abs(16 << 20), shrink: true, confirm: "d", want: 16 << 20},
		{name: "two VMs", t: open2, c: abs(64 << 20), wantErr: "open in 2 running VMs"},
	} {
		got, err := c.t.Check(c.c, c.shrink, c.confirm)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: %v; want %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %d, %v; want %d", c.name, got, err, c.want)
		}
	}
}
