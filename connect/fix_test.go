package connect

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
)

// Under --readonly a fix that reaches the backend (the console hides its
// key) is refused before any dial, audited, and its value cleared.
func TestApplyFixRefusedUnderReadOnly(t *testing.T) {
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	h := New([]string{"qemu+ssh://root@10.0.0.5/system"}, libvirtx.Options{ReadOnly: true}, libvirtx.DefaultBackoff)
	defer h.Close()
	h.Plan = plan.Runner{Audit: plan.NewAudit(audit)}
	value := []byte("passphrase")
	err := h.ApplyFix(context.Background(), 0, model.FixAction{Kind: model.FixSetSecret, Target: "u-1"}, value)
	if err == nil || !strings.Contains(err.Error(), "--readonly") {
		t.Fatalf("ApplyFix under --readonly: %v; want a refusal naming --readonly", err)
	}
	if strings.Trim(string(value), "\x00") != "" {
		t.Error("the value was not cleared")
	}
	b, err := os.ReadFile(audit)
	if err != nil || !strings.Contains(string(b), `"action":"doctor fix set-secret"`) || !strings.Contains(string(b), `"result":"refused"`) {
		t.Errorf("audit log (%v) lacks the refusal:\n%s", err, b)
	}
	if strings.Contains(string(b), "passphrase") {
		t.Error("the value reached the audit log")
	}
}
