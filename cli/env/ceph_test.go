package env

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stowage/ceph"
	"stowage/model"
)

func TestCephAccessPrecedence(t *testing.T) {
	cfg := Config{Hosts: []HostConfig{
		{URI: "qemu+ssh://other/system", CephConf: "/other.conf", CephKeyring: "/other.keyring"},
		{URI: "qemu:///system", CephConf: "/cfg.conf", CephKeyring: "/cfg.keyring"},
	}}
	for _, c := range []struct {
		uri, flagConf, flagKeyring string
		want                       cephAccess
	}{
		{"qemu:///system", "", "", cephAccess{"/cfg.conf", "/cfg.keyring"}},
		{"qemu:///system", "/flag.conf", "", cephAccess{"/flag.conf", "/cfg.keyring"}},
		{"qemu:///system", "", "/flag.keyring", cephAccess{"/cfg.conf", "/flag.keyring"}},
		{"qemu:///system", "/flag.conf", "/flag.keyring", cephAccess{"/flag.conf", "/flag.keyring"}},
		// A host config.yaml does not name: left to the conventions.
		{"qemu+tcp://h3/system", "", "", cephAccess{}},
	} {
		if got := cephAccessFor(c.uri, cfg, c.flagConf, c.flagKeyring); got != c.want {
			t.Errorf("%s flags (%q, %q) = %+v; want %+v", c.uri, c.flagConf, c.flagKeyring, got, c.want)
		}
	}
}

// fakeSecrets is a libvirt that holds one secret.
type fakeSecrets struct {
	secret model.Secret
	value  []byte
	reads  int
}

func (f *fakeSecrets) Secret(_ context.Context, uuid string) (model.Secret, error) {
	if uuid != f.secret.UUID {
		return model.Secret{}, errors.New("no secret with matching uuid")
	}
	return f.secret, nil
}

func (f *fakeSecrets) SecretValue(_ context.Context, uuid string) ([]byte, error) {
	f.reads++
	if f.secret.Private {
		return nil, errors.New("secret is private")
	}
	return append([]byte(nil), f.value...), nil
}

// Which source cephConfig picks, branch by branch, on a fake host root.
func TestCephConfigBranches(t *testing.T) {
	root := t.TempDir()
	loc := ceph.Locator{Root: root, Getenv: func(k string) string { return map[string]string{"HOME": "/root"}[k] }}
	pool := model.Pool{Name: "rbd1", SourceHosts: []string{"10.0.0.1:6789"}, AuthUser: "libvirt", AuthSecretUUID: "5a7d0e1c-0000-4c55-9e60-57a6e1ab0001"}
	private := &fakeSecrets{secret: model.Secret{UUID: pool.AuthSecretUUID, Private: true}}
	readable := &fakeSecrets{secret: model.Secret{UUID: pool.AuthSecretUUID}, value: []byte{0xde, 0xad, 0xbe, 0xef}}
	ctx := context.Background()

	// Nothing anywhere, private secret: the error names the cause, every
	// place looked at and the fix.
	_, err := cephConfig(ctx, private, pool, cephAccess{}, loc)
	if err == nil {
		t.Fatal("no keyring anywhere and a private secret: connected anyway")
	}
	for _, want := range []string{"pool rbd1 as client.libvirt", "libvirt secret " + pool.AuthSecretUUID + ", which is private",
		"CEPH_CONF: not set", filepath.Join(root, "etc/ceph/ceph.conf") + ": not found", filepath.Join(root, "root/.ceph/ceph.conf"),
		filepath.Join(root, "etc/ceph/ceph.client.libvirt.keyring") + ": not found", filepath.Join(root, "etc/ceph/ceph.keyring"),
		filepath.Join(root, "etc/ceph/keyring") + ": not found", filepath.Join(root, "etc/ceph/keyring.bin"),
		"Put client.libvirt's keyring at " + filepath.Join(root, "etc/ceph/ceph.client.libvirt.keyring"),
		"ceph_keyring", "--ceph-keyring"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}

	// A readable secret gives the key, base64 as librados takes it.
	c, err := cephConfig(ctx, readable, pool, cephAccess{}, loc)
	if err != nil || string(c.Key) != "3q2+7w==" || c.Keyring != "" || c.User != "libvirt" {
		t.Errorf("readable secret: %+v, %v", c, err)
	}

	// The convention's keyring, once there, serves a private secret's pool.
	if err := os.MkdirAll(filepath.Join(root, "etc/ceph"), 0o755); err != nil {
		t.Fatal(err)
	}
	kr := filepath.Join(root, "etc/ceph/ceph.client.libvirt.keyring")
	if err := os.WriteFile(kr, []byte("[client.libvirt]\n\tkey = AQBv0mVnAAAAABAAu7pGM+q4i4p6o9bS2lYpqA==\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(root, "etc/ceph/ceph.conf")
	if err := os.WriteFile(conf, []byte("[global]\nmon host = 10.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = cephConfig(ctx, private, pool, cephAccess{}, loc)
	if err != nil || c.Keyring != kr || c.ConfFile != conf || len(c.Key) != 0 {
		t.Errorf("convention: %+v, %v; want %s and %s", c, err, conf, kr)
	}
	// ... but a readable secret still comes first: it is the pool's own key.
	if c, err = cephConfig(ctx, readable, pool, cephAccess{}, loc); err != nil || len(c.Key) == 0 {
		t.Errorf("readable secret and a convention keyring: %+v, %v; want the secret's key", c, err)
	}
	// A given keyring wins over both, and the secret is not even read.
	readable.reads = 0
	c, err = cephConfig(ctx, readable, pool, cephAccess{keyring: "/given.keyring"}, loc)
	if err != nil || c.Keyring != "/given.keyring" || len(c.Key) != 0 || c.ConfFile != conf || readable.reads != 0 {
		t.Errorf("given keyring: %+v, %v, %d secret reads", c, err, readable.reads)
	}
	// A given conf that is not there is an error naming it.
	if _, err = cephConfig(ctx, private, pool, cephAccess{conf: "/nonexistent/ceph.conf"}, loc); err == nil || !strings.Contains(err.Error(), "/nonexistent/ceph.conf") {
		t.Errorf("missing given conf: %v", err)
	}
	// No <auth> user: admin, as libvirt and librados assume.
	if c, err = cephConfig(ctx, private, model.Pool{Name: "x", SourceHosts: pool.SourceHosts}, cephAccess{keyring: "/k"}, loc); err != nil || c.User != "admin" {
		t.Errorf("pool without auth: %+v, %v", c, err)
	}
}
