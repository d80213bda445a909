package model

import (
	"strings"
	"testing"
)

func TestClonePlanPerKind(t *testing.T) {
	ids := func(k CloneKind, f ...string) string {
		var out []string
		for _, s := range ClonePlan(k, "new", f...) {
			out = append(out, string(s.ID))
		}
		return strings.Join(out, ",")
	}
	for k, want := range map[CloneKind]string{
		CloneLibvirt:     "clone-volume,verify",
		CloneQEMULUKS:    "create-secret,clone-volume,verify",
		CloneRBDCopy:     "rbd-copy,verify",
		CloneRBDSnapshot: "rbd-snapshot,rbd-clone,verify",
		CloneLibrbdLUKS:  "create-secret,create-volume,format-luks,rbd-snapshot,rbd-reader,reencrypt,remove-reader,verify",
	} {
		if got := ids(k); got != want {
			t.Errorf("%s: %s, want %s", k, got, want)
		}
	}
	if s := ClonePlan(CloneLibrbdLUKS, "new", "luks1")[2].Title; !strings.Contains(s, "luks1") {
		t.Errorf("format step %q does not name luks1", s)
	}
}

func TestParseRBDCloneMethod(t *testing.T) {
	for in, want := range map[string]RBDCloneMethod{"": RBDMethodCopy, "copy": RBDMethodCopy, "clone": RBDMethodClone} {
		if got, err := ParseRBDCloneMethod(in); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	if _, err := ParseRBDCloneMethod("snapshot"); err == nil || !strings.Contains(err.Error(), "use copy") {
		t.Errorf("bad method: %v", err)
	}
}
