package lab

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

// The scanner finds every encoding and any 16-byte run of one, and
// Redact leaves no run of the secret behind; unrelated text is clean.
func TestSecretFindsEveryForm(t *testing.T) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	pass := []byte(base64.RawURLEncoding.EncodeToString(raw))
	s := NewSecret("p", pass, raw)
	for what, hay := range map[string][]byte{
		"as is":       append([]byte("x="), pass...),
		"raw":         append([]byte("x="), raw...),
		"std base64":  []byte("v " + base64.StdEncoding.EncodeToString(raw) + " v"),
		"hex":         []byte(hex.EncodeToString(raw)),
		"HEX":         []byte(strings.ToUpper(hex.EncodeToString(raw))),
		"b64 of pass": []byte(base64.StdEncoding.EncodeToString(pass)),
		"a 16-run":    []byte("..." + string(pass[7:23]) + "..."),
		"wrapped":     []byte(string(pass[:20]) + "\n" + string(pass[20:])),
	} {
		if _, _, ok := s.Find(hay); !ok {
			t.Errorf("%s: not found", what)
		}
		if red := s.Redact(hay); !bytes.Contains(red, []byte("[REDACTED p]")) {
			t.Errorf("%s: Redact changed nothing", what)
		} else if _, _, ok := s.Find(red); ok {
			t.Errorf("%s: Redact left a form of the secret", what)
		}
	}
	if _, _, ok := s.Find([]byte("a log line about volume t-drives-x-123 with no secret " + string(pass[:15]))); ok {
		t.Error("a run shorter than Window matched")
	}
	if strings.Contains(s.String(), string(pass)) {
		t.Error("String shows the secret")
	}
}
