package model

import (
	"strings"
	"testing"
)

func TestValidateDriveName(t *testing.T) {
	good := []struct {
		name string
		typ  PoolType
	}{{"data.raw", PoolDir}, {"a", PoolDir}, {"vm1-data@2", PoolDir}, {strings.Repeat("x", 255), PoolDir}, {"vm-1_data", PoolRBD}, {"été", PoolLogical}}
	for _, g := range good {
		if err := ValidateDriveName(g.name, g.typ, []string{"other"}); err != nil {
			t.Errorf("%.20q on %s: %v", g.name, g.typ, err)
		}
	}
	bad := []struct {
		name string
		typ  PoolType
		msg  string
	}{
		{"", PoolDir, "empty"},
		{".", PoolDir, "reserved"},
		{"..", PoolDir, "reserved"},
		{"a/b", PoolDir, "'/'"},
		{"a\tb", PoolDir, "control"},
		{"a\x7fb", PoolDir, "control"},
		{strings.Repeat("x", 256), PoolDir, "256 bytes"},
		{" x", PoolDir, "space"},
		{"img@snap", PoolRBD, "snapshots"},
		{".hidden", PoolRBD, "starts with '.'"},
		{"dup", PoolDir, "already exists"},
		{"\xff", PoolDir, "UTF-8"},
	}
	for _, b := range bad {
		err := ValidateDriveName(b.name, b.typ, []string{"dup"})
		if err == nil || !strings.Contains(err.Error(), b.msg) {
			t.Errorf("%.20q on %s: %v; want an error containing %q", b.name, b.typ, err, b.msg)
		}
	}
}

func TestValidateFormatAndEncryption(t *testing.T) {
	if f, err := ValidateFormat("", PoolRBD); err != nil || f != "raw" {
		t.Errorf("default format on rbd = %q, %v", f, err)
	}
	if _, err := ValidateFormat("qcow2", PoolLogical); err == nil || !strings.Contains(err.Error(), "file pool") {
		t.Errorf("qcow2 on logical: %v", err)
	}
	if _, err := ValidateFormat("vmdk", PoolDir); err == nil {
		t.Error("vmdk accepted")
	}
	cases := []struct {
		in   DriveEncryption
		typ  PoolType
		want DriveEncryption
		msg  string
	}{
		{"", PoolDir, EncryptNone, ""},
		{EncryptLUKS, PoolDir, EncryptLUKS, ""},
		{EncryptLUKS1, PoolDir, EncryptLUKS, ""},
		{EncryptLUKS2, PoolDir, "", "rbd pools only"},
		{EncryptLUKS2, PoolRBD, EncryptLUKS2, ""},
		{EncryptLUKS, PoolISCSI, "", "cannot encrypt"},
		{"bitlocker", PoolDir, "", "unknown"},
	}
	for _, c := range cases {
		got, err := ValidateEncryption(c.in, c.typ)
		if c.msg != "" {
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%s on %s: %v; want %q", c.in, c.typ, err, c.msg)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s on %s = %s, %v; want %s", c.in, c.typ, got, err, c.want)
		}
	}
}

func TestAllocatedSize(t *testing.T) {
	cases := []struct {
		spec DriveSpec
		want uint64
	}{
		{DriveSpec{PoolType: PoolRBD, Size: 1 << 30, Encryption: EncryptLUKS2}, 1<<30 + 16<<20},
		{DriveSpec{PoolType: PoolRBD, Size: 1 << 30, Encryption: EncryptLUKS1}, 1<<30 + 4<<20},
		{DriveSpec{PoolType: PoolRBD, Size: 1 << 30, Encryption: EncryptLUKS}, 1<<30 + 4<<20},
		{DriveSpec{PoolType: PoolRBD, Size: 1 << 30, Encryption: EncryptNone}, 1 << 30},
		// qemu-img sizes QEMU-layer LUKS volumes itself.
		{DriveSpec{PoolType: PoolDir, Size: 1 << 30, Encryption: EncryptLUKS}, 1 << 30},
	}
	for _, c := range cases {
		if got, err := c.spec.AllocatedSize(); err != nil || got != c.want {
			t.Errorf("%+v: %d, %v; want %d", c.spec, got, err, c.want)
		}
	}
	if _, err := (DriveSpec{PoolType: PoolRBD, Size: ^uint64(0) - 5, Encryption: EncryptLUKS2}).AllocatedSize(); err == nil {
		t.Error("overflow accepted")
	}
}

func TestCheckCapacity(t *testing.T) {
	dir := Pool{Name: "d", Type: PoolDir, Available: 1 << 30}
	if w, err := CheckCapacity(1<<29, dir); w != "" || err != nil {
		t.Errorf("fits: %q %v", w, err)
	}
	if w, err := CheckCapacity(2<<30, dir); err != nil || !strings.Contains(w, "over-committed") {
		t.Errorf("dir over-commit: %q %v; want a warning", w, err)
	}
	lv := Pool{Name: "vg", Type: PoolLogical, Available: 1 << 30}
	if _, err := CheckCapacity(2<<30, lv); err == nil || !strings.Contains(err.Error(), "cannot over-commit") {
		t.Errorf("logical over-commit: %v; want a refusal", err)
	}
}

func TestParseCipher(t *testing.T) {
	c, err := ParseCipher(RecommendedCipher)
	if err != nil || *c != (Cipher{Name: "aes", Size: 256, Mode: "xts", Hash: "sha256", IVGen: "plain64"}) {
		t.Errorf("%s = %+v, %v", RecommendedCipher, c, err)
	}
	c, err = ParseCipher(LibvirtDefaultCipher)
	if err != nil || c.Mode != "cbc" || c.IVGen != "essiv" || c.IVHash != "sha256" {
		t.Errorf("%s = %+v, %v", LibvirtDefaultCipher, c, err)
	}
	if c, err := ParseCipher(""); c != nil || err != nil {
		t.Errorf("default = %+v, %v", c, err)
	}
	for _, bad := range []string{"aes", "aes-255-xts-plain64", "aes-256-xts-", "a'b-256-xts-plain64"} {
		if _, err := ParseCipher(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestNextFreeTarget(t *testing.T) {
	cases := []struct {
		used []string
		want string
	}{
		{nil, "vda"},
		{[]string{"vda", "hdc", "sda"}, "vdb"},
		{[]string{"vda", "vdc"}, "vdb"},
	}
	for _, c := range cases {
		if got := NextFreeTarget(c.used); got != c.want {
			t.Errorf("%v: %s, want %s", c.used, got, c.want)
		}
	}
	var all []string
	for i := 0; i < 26; i++ {
		all = append(all, "vd"+string(rune('a'+i)))
	}
	if got := NextFreeTarget(all); got != "vdaa" {
		t.Errorf("after vdz: %s, want vdaa", got)
	}
}

func TestCreatePlan(t *testing.T) {
	ids := func(steps []Step) string {
		var s []string
		for _, st := range steps {
			s = append(s, string(st.ID))
		}
		return strings.Join(s, ",")
	}
	rbd := DriveSpec{PoolType: PoolRBD, Name: "x", Encryption: EncryptLUKS2, AttachVM: "vm", Attach: AttachMode{Persistent: true}}
	if got := ids(CreatePlan(rbd)); got != "create-secret,create-volume,format-luks,attach,verify" {
		t.Errorf("rbd plan: %s", got)
	}
	dir := DriveSpec{PoolType: PoolDir, Name: "x", Encryption: EncryptLUKS}
	plan := CreatePlan(dir)
	if got := ids(plan); got != "create-secret,create-volume,verify" || !plan[1].Measurable {
		t.Errorf("dir plan: %s %+v", got, plan)
	}
	if got := ids(CreatePlan(DriveSpec{PoolType: PoolDir, Name: "x"})); got != "create-volume,verify" {
		t.Errorf("plain plan: %s", got)
	}
}

func TestEncryptionLabel(t *testing.T) {
	var none *Encryption
	for e, want := range map[*Encryption]string{
		none:                                "-",
		{Format: "luks"}:                    "luks (qemu)", // no engine attribute: libvirt's default
		{Format: "luks", Engine: "qemu"}:    "luks (qemu)",
		{Format: "luks2", Engine: "librbd"}: "luks2 (librbd)",
	} {
		if got := e.Label(); got != want {
			t.Errorf("%+v: %q, want %q", e, got, want)
		}
	}
}
