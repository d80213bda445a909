package ceph

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A fake root for a Locator: files written under root, environment from a map.
type fakeHost struct {
	t    *testing.T
	root string
	env  map[string]string
}

func newFakeHost(t *testing.T) *fakeHost {
	return &fakeHost{t: t, root: t.TempDir(), env: map[string]string{"HOME": "/home/adm"}}
}

func (h *fakeHost) locator() Locator {
	return Locator{Root: h.root, Getenv: func(k string) string { return h.env[k] }, Dir: "/srv/work"}
}

// write puts a file at path (as librados would see it) under the root.
func (h *fakeHost) write(path, content string) string {
	h.t.Helper()
	p := filepath.Join(h.root, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *fakeHost) at(path string) string { return filepath.Join(h.root, path) }

const testKey = "AQBv0mVnAAAAABAAu7pGM+q4i4p6o9bS2lYpqA=="

func keyringFor(entities ...string) string {
	var b strings.Builder
	for _, e := range entities {
		b.WriteString("[" + e + "]\n\tkey = " + testKey + "\n")
	}
	return b.String()
}

func TestConfSearchOrder(t *testing.T) {
	h := newFakeHost(t)
	l := h.locator()
	conf, looked, err := l.Conf("", "libvirt")
	if err != nil || conf != "" {
		t.Fatalf("empty host: %q, %v; want no conf and no error", conf, err)
	}
	want := []string{"CEPH_CONF: not set", h.at("/etc/ceph/ceph.conf"), h.at("/home/adm/.ceph/ceph.conf"), h.at("/srv/work/ceph.conf")}
	if len(looked) != len(want) {
		t.Fatalf("looked at %v; want %v", looked, want)
	}
	for i, w := range want {
		if !strings.Contains(looked[i].String(), w) {
			t.Errorf("place %d = %q; want it to name %q", i, looked[i], w)
		}
	}

	// Each candidate wins over the ones after it.
	h.write("/srv/work/ceph.conf", "")
	if conf, _, _ = l.Conf("", "libvirt"); conf != h.at("/srv/work/ceph.conf") {
		t.Errorf("only ./ceph.conf: got %q", conf)
	}
	h.write("/home/adm/.ceph/ceph.conf", "")
	if conf, _, _ = l.Conf("", "libvirt"); conf != h.at("/home/adm/.ceph/ceph.conf") {
		t.Errorf("~/.ceph/ceph.conf over ./ceph.conf: got %q", conf)
	}
	h.write("/etc/ceph/ceph.conf", "")
	if conf, _, _ = l.Conf("", "libvirt"); conf != h.at("/etc/ceph/ceph.conf") {
		t.Errorf("/etc/ceph/ceph.conf first: got %q", conf)
	}

	// CEPH_CONF replaces the list: librados then looks nowhere else.
	h.env["CEPH_CONF"] = "/opt/missing.conf"
	conf, looked, err = l.Conf("", "libvirt")
	if err != nil || conf != "" {
		t.Errorf("CEPH_CONF naming a missing file: %q, %v; want none found (not /etc/ceph/ceph.conf)", conf, err)
	}
	if s := placesString(looked); !strings.Contains(s, "CEPH_CONF: set") || !strings.Contains(s, h.at("/opt/missing.conf")+": not found") {
		t.Errorf("looked: %s", s)
	}
	h.write("/opt/b.conf", "")
	h.env["CEPH_CONF"] = "/opt/missing.conf, /opt/$cluster-b.conf;/opt/b.conf"
	h.write("/opt/ceph-b.conf", "")
	if conf, _, _ = l.Conf("", "libvirt"); conf != h.at("/opt/ceph-b.conf") {
		t.Errorf("CEPH_CONF list with $cluster: got %q", conf)
	}

	// A given conf is taken as it is, not under Root, and must exist.
	given := filepath.Join(t.TempDir(), "given.conf")
	if _, _, err := l.Conf(given, "libvirt"); err == nil || !strings.Contains(err.Error(), given) {
		t.Errorf("missing given conf: %v; want an error naming it", err)
	}
	if err := os.WriteFile(given, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if conf, _, err = l.Conf(given, "libvirt"); conf != given || err != nil {
		t.Errorf("given conf: %q, %v", conf, err)
	}
}

func TestConfNotAFile(t *testing.T) {
	h := newFakeHost(t)
	if err := os.MkdirAll(h.at("/etc/ceph/ceph.conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.locator().Conf("", "libvirt"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory at /etc/ceph/ceph.conf: %v; want an error, as librados gives", err)
	}
}

func TestKeyringDefaults(t *testing.T) {
	h := newFakeHost(t)
	l := h.locator()
	k, looked, err := l.Keyring("libvirt", "")
	if err != nil || k != "" {
		t.Fatalf("empty host: %q, %v", k, err)
	}
	want := []string{"/etc/ceph/ceph.client.libvirt.keyring", "/etc/ceph/ceph.keyring", "/etc/ceph/keyring", "/etc/ceph/keyring.bin"}
	if len(looked) != len(want) {
		t.Fatalf("looked at %v; want %v", looked, want)
	}
	for i, w := range want {
		if looked[i].Path != h.at(w) || looked[i].Outcome != "not found" {
			t.Errorf("place %d = %v; want %s not found", i, looked[i], w)
		}
	}
	if got := l.WantKeyring("libvirt", ""); got != h.at(want[0]) {
		t.Errorf("WantKeyring = %q; want %q", got, h.at(want[0]))
	}

	// A keyring for another user is skipped and named as such.
	h.write("/etc/ceph/ceph.keyring", keyringFor("client.admin"))
	h.write("/etc/ceph/keyring", keyringFor("client.admin", "client.libvirt"))
	k, looked, _ = l.Keyring("libvirt", "")
	if k != h.at("/etc/ceph/keyring") {
		t.Errorf("got %q; want /etc/ceph/keyring, the first holding client.libvirt", k)
	}
	if s := placesString(looked); !strings.Contains(s, "holds no [client.libvirt] entry (only client.admin)") {
		t.Errorf("looked: %s", s)
	}
	h.write("/etc/ceph/ceph.client.libvirt.keyring", keyringFor("client.libvirt"))
	if k, _, _ = l.Keyring("libvirt", ""); k != h.at("/etc/ceph/ceph.client.libvirt.keyring") {
		t.Errorf("got %q; want ceph.client.libvirt.keyring first", k)
	}
	if strings.Contains(placesString(looked), testKey) {
		t.Error("a place's description contains the key")
	}
}

func TestKeyringFromConf(t *testing.T) {
	h := newFakeHost(t)
	l := h.locator()
	h.write("/etc/ceph/ceph.client.libvirt.keyring", keyringFor("client.libvirt"))
	h.write("/vault/ceph.client.libvirt.keyring", keyringFor("client.libvirt"))
	h.write("/vault/all.keyring", keyringFor("client.libvirt"))
	h.write("/home/adm/k/libvirt", keyringFor("client.libvirt"))
	cases := []struct{ name, conf, want string }{
		{"client section", "[client.libvirt]\nkeyring = /vault/$cluster.$name.keyring\n", "/vault/ceph.client.libvirt.keyring"},
		{"[client] applies to every client", "[global]\nkeyring=/nope\n[client]\n  keyring   =   /vault/all.keyring ; comment\n", "/vault/all.keyring"},
		{"user section over client and global", "[global]\nkeyring = /nope\n[client]\nkeyring = /nope\n[client.libvirt]\nkeyring = \"/home/adm/k/${id}\"\n", "/home/adm/k/libvirt"},
		{"a list, first holding the key", "[global]\nkeyring = /nope, /etc/ceph/$cluster.$name.keyring\n", "/etc/ceph/ceph.client.libvirt.keyring"},
		{"$home", "[client.libvirt]\nkeyring = $home/k/libvirt\n", "/home/adm/k/libvirt"},
		{"other users' sections do not apply", "[client.admin]\nkeyring = /nope\n[osd]\nkeyring = /nope\n", "/etc/ceph/ceph.client.libvirt.keyring"},
		{"continuation line", "[client.libvirt]\nkeyring = /vault/\\\nall.keyring\n", "/vault/all.keyring"},
	}
	for _, c := range cases {
		conf := h.write("/etc/ceph/ceph.conf", c.conf)
		k, looked, err := l.Keyring("libvirt", conf)
		if err != nil || k != h.at(c.want) {
			t.Errorf("%s: %q, %v; want %s (looked: %s)", c.name, k, err, c.want, placesString(looked))
		}
	}

	// The conf's option replaces the defaults: librados looks nowhere else.
	conf := h.write("/etc/ceph/ceph.conf", "[client.libvirt]\nkeyring = /nope/$name.keyring\n")
	k, looked, _ := l.Keyring("libvirt", conf)
	if k != "" {
		t.Errorf("got %q; want none (the conf names only /nope)", k)
	}
	s := placesString(looked)
	if !strings.Contains(s, "sets keyring = /nope/$name.keyring for client.libvirt") || !strings.Contains(s, h.at("/nope/client.libvirt.keyring")+": not found") {
		t.Errorf("looked: %s", s)
	}
	if got := l.WantKeyring("libvirt", conf); got != h.at("/nope/client.libvirt.keyring") {
		t.Errorf("WantKeyring = %q; want the conf's first keyring", got)
	}
}

// A key written inline in ceph.conf is never copied out of the file.
func TestConfKeyringIgnoresInlineKey(t *testing.T) {
	h := newFakeHost(t)
	conf := h.write("/etc/ceph/ceph.conf", "[client.libvirt]\nkey = "+testKey+"\n")
	v, err := confKeyring(conf, "client.libvirt")
	if err != nil || v != "" {
		t.Errorf("confKeyring = %q, %v; want no keyring option", v, err)
	}
}

func TestExpand(t *testing.T) {
	l := Locator{Getenv: func(k string) string { return map[string]string{"HOME": "/root"}[k] }}
	for in, want := range map[string]string{
		"/etc/ceph/$cluster.$name.keyring": "/etc/ceph/ceph.client.u.keyring",
		"${type}/${id}/$home":              "client/u//root",
		"$host/$unknown/${name":            "$host/$unknown/${name",
		"$$cluster":                        "$ceph",
		"end$":                             "end$",
	} {
		if got := l.expand(in, "u"); got != want {
			t.Errorf("expand(%q) = %q; want %q", in, got, want)
		}
	}
}

func placesString(ps []Place) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, "; ")
}

func TestKeyringKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keyring")
	body := "[client.admin]\n\tkey = ADMINKEY==\n[client.libvirt]\n\tcaps mon = \"profile rbd\"\n\tkey = LIBVIRTKEY==\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := KeyringKey(p, "libvirt")
	if err != nil || string(k) != "LIBVIRTKEY==" {
		t.Errorf("KeyringKey = %q, %v", k, err)
	}
	if _, err := KeyringKey(p, "nobody"); err == nil || !strings.Contains(err.Error(), "no key for client.nobody") {
		t.Errorf("a missing entry: %v", err)
	}
	if _, err := KeyringKey(filepath.Join(t.TempDir(), "none"), "libvirt"); err == nil {
		t.Error("a missing file gave a key")
	}
}
