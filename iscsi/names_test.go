package iscsi

import (
	"fmt"
	"strings"
	"testing"
)

var sprintf = fmt.Sprintf

func TestValidateName(t *testing.T) {
	good := map[string]NameType{
		"iqn.2026-11.lab.stowage:san1":                           IQN,
		"iqn.1992-01.com.example":                                IQN,
		"iqn.2001-04.com.example:storage:diskarrays-sn-a8675309": IQN,
		"iqn.2001-04.com.example:storage.tape1.sys1.xyz":         IQN,
		"eui.02004567A425678D":                                   EUI,
		"eui.02004567a425678d":                                   EUI,
		"naa.52004567BA64678D":                                   NAA,
		"naa.62004567BA64678D0123456789ABCDEF":                   NAA,
	}
	for s, want := range good {
		got, err := ValidateName(s)
		if err != nil || got != want {
			t.Errorf("ValidateName(%q) = %q, %v; want %q", s, got, err, want)
		}
	}
	bad := map[string]string{
		"":                              "empty",
		"iqn":                           "prefix",
		"IQN.2026-11.lab.stowage":       "lower-case",
		"iqn.2026-13.lab.stowage":       "year-month",
		"iqn.26-11.lab.stowage":         "YYYY-MM",
		"iqn.2026-11.":                  "reversed domain",
		"iqn.2026-11.lab..stowage":      "empty label",
		"iqn.2026-11.lab.stowage:":      "nothing after",
		"iqn.2026-11.lab.stowage:San1":  "upper-case",
		"iqn.2026-11.lab.stowage:san 1": "not allowed",
		"iqn.2026-11.lab_x.stowage":     "domain part",
		"eui.02004567A425678":           "16 hex",
		"eui.02004567A425678G":          "not a hex",
		"naa.52004567BA64678D00":        "16 or 32",
		"xyz.1234":                      "unknown type",
		"iqn.2026-11.lab.stowage:" + strings.Repeat("a", 220): "223",
	}
	for s, want := range bad {
		_, err := ValidateName(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateName(%q) = %v; want an error mentioning %q", s, err, want)
		}
	}
}

func TestParsePortal(t *testing.T) {
	good := map[string]Portal{
		"10.0.2.2":            {"10.0.2.2", 3260},
		"10.0.2.2:3261":       {"10.0.2.2", 3261},
		"san.example.com":     {"san.example.com", 3260},
		"san.example.com:860": {"san.example.com", 860},
		"[fd00::1]:3260":      {"fd00::1", 3260},
		"[fd00::1]":           {"fd00::1", 3260},
		"fd00::1":             {"fd00::1", 3260},
		" 192.168.1.10:3260 ": {"192.168.1.10", 3260},
	}
	for s, want := range good {
		got, err := ParsePortal(s)
		if err != nil || got != want {
			t.Errorf("ParsePortal(%q) = %+v, %v; want %+v", s, got, err, want)
		}
	}
	if got := (Portal{"fd00::1", 3260}).String(); got != "[fd00::1]:3260" {
		t.Errorf("IPv6 portal renders as %q", got)
	}
	for _, s := range []string{"", ":3260", "host:", "host:0", "host:65536", "host:32a", "[fd00::1", "[fd00::1]x",
		"[10.0.0.1]:3260", "fd00::zz", "-host", "ho_st", "10.0.2.2:3260,1", "host:+80"} {
		if p, err := ParsePortal(s); err == nil {
			t.Errorf("ParsePortal(%q) = %+v; want an error", s, p)
		}
	}
}

func TestValidateVGAndPoolNames(t *testing.T) {
	for _, s := range []string{"vgdata", "vg_data-1", "VG.2+x"} {
		if err := ValidateVGName(s); err != nil {
			t.Errorf("ValidateVGName(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", ".", "..", "-vg", "vg data", "vg/x", "my_snapshot", "x_tmeta", strings.Repeat("v", 128)} {
		if err := ValidateVGName(s); err == nil {
			t.Errorf("ValidateVGName(%q) accepted", s)
		}
	}
	for _, s := range []string{"", "a/b", "-p", ".p", "p q"} {
		if err := ValidatePoolName(s); err == nil {
			t.Errorf("ValidatePoolName(%q) accepted", s)
		}
	}
}

func TestCHAPSecretNeverPrints(t *testing.T) {
	c := CHAP{User: "u", Secret: Secret("hunter2hunter2")}
	for _, s := range []string{c.Secret.String(), strings.Join([]string{fmtV(c), fmtS(c.Secret), fmtGo(c)}, " ")} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("secret leaked: %s", s)
		}
	}
	if err := (CHAP{User: "u"}).Validate(); err == nil {
		t.Error("empty secret accepted")
	}
	if err := (CHAP{Secret: Secret("x")}).Validate(); err == nil {
		t.Error("empty user accepted")
	}
}

func TestReadSecretLine(t *testing.T) {
	s, err := readSecretLine(strings.NewReader("s3cret-value\r\nmore"))
	if err != nil || string(s) != "s3cret-value" {
		t.Fatalf("got %q, %v", s, err)
	}
	if _, err := readSecretLine(strings.NewReader("\n")); err == nil {
		t.Error("empty secret accepted")
	}
}

func FuzzParsePortal(f *testing.F) {
	for _, s := range []string{"10.0.2.2", "[fd00::1]:3260", "h:1", "fd00::1", "[", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePortal(s)
		if err != nil {
			return
		}
		if p.Port < 1 || p.Port > 65535 || p.Host == "" {
			t.Fatalf("ParsePortal(%q) = %+v", s, p)
		}
		// What it prints, it parses back to the same portal.
		q, err := ParsePortal(p.String())
		if err != nil || q != p {
			t.Fatalf("round trip %q -> %q -> %+v, %v", s, p.String(), q, err)
		}
	})
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"iqn.2026-11.lab.stowage:san1", "eui.02004567A425678D", "naa.52004567BA64678D", "iqn.2026-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		typ, err := ValidateName(s)
		if err != nil {
			return
		}
		if len(s) > MaxNameLen || !strings.HasPrefix(strings.ToLower(s), string(typ)+".") {
			t.Fatalf("ValidateName(%q) accepted as %q", s, typ)
		}
		for _, r := range s {
			if r > 127 || r == ' ' {
				t.Fatalf("ValidateName(%q) accepted a non-ASCII or blank character", s)
			}
		}
	})
}

func fmtV(c CHAP) string   { return sprintf("%v %+v", c, c) }
func fmtS(s Secret) string { return sprintf("%s %q %v", s, s, s) }
func fmtGo(c CHAP) string  { return sprintf("%#v", c) }
