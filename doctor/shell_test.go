package doctor

import "testing"

func TestShellQuotesWhatTheShellWouldSplit(t *testing.T) {
	for in, want := range map[string]string{
		"qemu:///system": "qemu:///system",
		"qemu+ssh://root@hv1:2222/system?keyfile=/k&known_hosts=/h": "'qemu+ssh://root@hv1:2222/system?keyfile=/k&known_hosts=/h'",
		"my vm":   "'my vm'",
		"it's":    `'it'\''s'`,
		"":        "''",
		"vm-01.x": "vm-01.x",
	} {
		if got := Shell(in); got != want {
			t.Errorf("Shell(%q) = %s, want %s", in, got, want)
		}
	}
}
