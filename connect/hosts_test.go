package connect

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
)

// A trust needs the host's latest dial to meet the key shown: before any
// dial (or with no key shown) it is refused, audited, and nothing written.
// The lab test in ui/data covers a host that changed its key.
func TestTrustRefusesWithoutTheKeyOnTheHost(t *testing.T) {
	dir := t.TempDir()
	kh, audit := filepath.Join(dir, "known_hosts"), filepath.Join(dir, "audit.jsonl")
	h := New([]string{"qemu+ssh://root@10.0.0.5/system"}, libvirtx.Options{}, libvirtx.DefaultBackoff)
	defer h.Close()
	h.Plan = plan.Runner{Audit: plan.NewAudit(audit)}
	shown := &model.UnknownHostKeyError{Host: "10.0.0.5", KeyType: "ssh-ed25519", Fingerprint: "SHA256:x", KnownHosts: kh, Key: []byte{1}}
	if err := h.TrustHostKey(0, shown); !errors.Is(err, model.ErrHostKeyNotShown) {
		t.Errorf("trust before the host asked: %v; want a refusal (ErrHostKeyNotShown)", err)
	}
	if err := h.TrustHostKey(0, nil); err == nil {
		t.Error("trust with no key shown succeeded")
	}
	if _, err := os.Stat(kh); !errors.Is(err, os.ErrNotExist) {
		t.Error("known_hosts written despite the refusals")
	}
	b, err := os.ReadFile(audit)
	if err != nil || strings.Count(string(b), `"result":"refused"`) != 2 || !strings.Contains(string(b), "SHA256:x") {
		t.Errorf("audit log (%v) lacks the two refusals, the first naming the fingerprint:\n%s", err, b)
	}
}
