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
