package libvirtx

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"stowage/model"
)

func testHostKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The key travels to the console as bytes in a model type; a trust writes
// exactly the key whose fingerprint was shown, and nothing when the bytes
// are another key's, whatever the latest dial says.
func TestTrustHostKeyWritesOnlyTheKeyShown(t *testing.T) {
	kh := filepath.Join(t.TempDir(), "ssh", "known_hosts")
	keyA, keyB := testHostKey(t), testHostKey(t)
	met := func(k ssh.PublicKey) *model.UnknownHostKeyError {
		var uk *model.UnknownHostKeyError
		if err := unknownHostKey(sshSettings{knownHosts: kh}, "10.0.0.5:22", k); !errors.As(err, &uk) {
			t.Fatalf("unknownHostKey: %v", err)
		}
		return uk
	}
	shown := met(keyA)
	if shown.Fingerprint != ssh.FingerprintSHA256(keyA) || shown.Host != "10.0.0.5" || !shown.SameKey(met(keyA)) {
		t.Fatalf("shown key %+v; want A's fingerprint for 10.0.0.5, the same key as a second meeting of A", shown)
	}

	swapped := *shown
	swapped.Key = keyB.Marshal() // A's fingerprint on screen, B's bytes
	for name, c := range map[string]struct{ shown, latest *model.UnknownHostKeyError }{
		"bytes not the fingerprint's": {&swapped, &swapped},
		"the host now shows B":        {shown, met(keyB)},
		"the host asks for no key":    {shown, nil},
	} {
		if _, err := TrustHostKey(c.shown, c.latest); !errors.Is(err, model.ErrHostKeyNotShown) {
			t.Errorf("%s: %v; want a refusal (ErrHostKeyNotShown)", name, err)
		}
		if _, err := os.Stat(kh); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s: known_hosts written despite the refusal", name)
		}
	}

	tr, err := TrustHostKey(shown, met(keyA))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(kh)
	if want := knownhosts.Line([]string{"10.0.0.5"}, keyA); strings.TrimSpace(string(b)) != want || tr.Line != want {
		t.Fatalf("known_hosts holds %q (trusted %q); want exactly A's line %q", b, tr.Line, want)
	}
	if err := UntrustHostKey(tr); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(kh); len(b) != 0 {
		t.Errorf("after the undo known_hosts holds %q", b)
	}
}
