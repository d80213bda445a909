package model

import (
	"strings"
	"testing"
)

func TestCreateAbility(t *testing.T) {
	cases := []struct {
		typ     PoolType
		present bool
		want    bool
		reason  string
	}{
		{PoolDir, true, true, "creates volumes"},
		{PoolLogical, true, true, "creates volumes"},
		{PoolRBD, true, true, "creates volumes"},
		{PoolRBD, false, false, "no rbd storage backend"},
		{PoolISCSI, true, false, "LVM-on-iSCSI wizard"},
		{PoolISCSIDirect, true, false, "LVM-on-iSCSI wizard"},
		{PoolSCSI, true, false, "existing LUNs"},
		{PoolMpath, true, false, "multipath"},
		// The seed table says gluster can; libvirt's backend has no createVol.
		{PoolGluster, true, false, "cannot create volumes"},
		{PoolType("floppy"), true, false, "unknown pool type"},
	}
	for _, c := range cases {
		got, reason := CreateAbility(c.typ, c.present)
		if got != c.want || !strings.Contains(reason, c.reason) {
			t.Errorf("CreateAbility(%s, %v) = %v, %q; want %v and a reason containing %q",
				c.typ, c.present, got, reason, c.want, c.reason)
		}
	}
}

func TestEncryptionKinds(t *testing.T) {
	if got := EncryptionKinds(PoolRBD); len(got) != 2 || got[0] != EncLibrbdLUKS1 || got[1] != EncLibrbdLUKS2 {
		t.Errorf("rbd: %v", got)
	}
	for _, pt := range []PoolType{PoolDir, PoolFS, PoolNetFS, PoolLogical, PoolDisk} {
		if got := EncryptionKinds(pt); len(got) != 1 || got[0] != EncQEMULUKS {
			t.Errorf("%s: %v, want QEMU LUKS", pt, got)
		}
	}
	if got := EncryptionKinds(PoolISCSI); len(got) != 0 {
		t.Errorf("iscsi: %v, want none", got)
	}
}
