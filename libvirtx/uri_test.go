package libvirtx

import (
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	good := []struct {
		in, transport, socket, open, host string
		ro                                bool
	}{
		{"qemu:///system", "unix", defaultSocket, "qemu:///system", "", false},
		{"qemu:///system", "unix", defaultSocketRO, "qemu:///system", "", true},
		{"qemu:///system?socket=/tmp/s", "unix", "/tmp/s", "qemu:///system", "", false},
		{"test:///default", "unix", defaultSocket, "test:///default", "", false},
		{"test:///srv/node.xml", "unix", defaultSocket, "test:///srv/node.xml", "", false},
		{"qemu+ssh://root@hv1:2222/system", "ssh", defaultSocket, "qemu:///system", "hv1", false},
		{"qemu+tls://hv2/system?pkipath=/etc/pki", "tls", "", "qemu:///system", "hv2", false},
		{"qemu+tcp://hv3:16509/system", "tcp", "", "qemu:///system", "hv3", false},
	}
	for _, g := range good {
		got, err := ParseURI(g.in, g.ro)
		if err != nil {
			t.Errorf("ParseURI(%q): %v", g.in, err)
			continue
		}
		if got.Transport != g.transport || got.Socket != g.socket || got.Open != g.open || got.Host != g.host {
			t.Errorf("ParseURI(%q) = %+v", g.in, got)
		}
	}
	bad := map[string]string{
		"":                     "empty",
		"/system":              "no scheme",
		"qemu+foo:///system":   "transport \"foo\"",
		"vbox:///session":      "unknown driver",
		"qemu:///sys":          "/system or /session",
		"qemu://hv1/system":    "qemu+ssh://hv1/system",
		"qemu+ssh:///system":   "needs a host",
		"test://":              "needs a path",
		"qemu+ssh://h/system%": "invalid URL escape",
	}
	for in, msg := range bad {
		if _, err := ParseURI(in, false); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseURI(%q) error = %v; want one containing %q", in, err, msg)
		}
	}
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{"qemu:///system", "qemu+ssh://u@h:22/system?keyfile=/k", "test:///x.xml"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseURI(s, false)
		if err == nil && (tg.Open == "" || tg.Transport == "") {
			t.Fatalf("ParseURI(%q) accepted without open name or transport: %+v", s, tg)
		}
	})
}

func TestTargetLocal(t *testing.T) {
	for uri, want := range map[string]bool{
		"qemu:///system":                   true,
		"qemu:///system?socket=/tmp/s":     true,
		"test:///default":                  true,
		"qemu+ssh://127.0.0.1:2222/system": true,
		"qemu+tcp://localhost/system":      true,
		"qemu+tls://[::1]/system":          true,
		"qemu+ssh://kvm1.example/system":   false,
		"qemu+tls://192.0.2.7/system":      false,
	} {
		tg, err := ParseURI(uri, false)
		if err != nil {
			t.Fatalf("%s: %v", uri, err)
		}
		if got := tg.Local(); got != want {
			t.Errorf("%s: Local() = %v, want %v", uri, got, want)
		}
	}
}
