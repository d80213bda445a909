package benchenc

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stowage/plan"
)

func TestRBDFilenameEscapesAndCarriesNoKey(t *testing.T) {
	r := &RBD{Pool: "stowage", User: "libvirt", Monitors: []string{"10.0.0.1:6789", "10.0.0.2:6789"}, ConfFile: "/etc/ceph/ceph.conf", Key: []byte("SECRETKEY")}
	got := r.filename("stowage-bench-1-qemu-luks")
	want := `rbd:stowage/stowage-bench-1-qemu-luks:id=libvirt:conf=/etc/ceph/ceph.conf:mon_host=10.0.0.1\:6789,10.0.0.2\:6789:rbd_default_features=5`
	if got != want {
		t.Errorf("filename:\n got %s\nwant %s", got, want)
	}
	if got := r.RemoveCommand("img"); got != "rbd --id libvirt -c /etc/ceph/ceph.conf -m 10.0.0.1:6789,10.0.0.2:6789 rm stowage/img" {
		t.Errorf("remove command: %s", got)
	}
}

func TestRBDBlockdevs(t *testing.T) {
	r := &RBD{Pool: "p", User: "libvirt", Monitors: []string{"127.0.0.1:6789", "[::1]:6789"}, Key: []byte("SECRETKEY")}
	js := func(f Format) string {
		b, err := json.Marshal(r.Blockdev(f, "img"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "SECRETKEY") {
			t.Fatalf("the key is in the blockdev: %s", b)
		}
		return string(b)
	}
	plain := js(Plain)
	for _, want := range []string{`"driver":"rbd"`, `"node-name":"bench"`, `"key-secret":"bench-cephx"`, `{"host":"127.0.0.1","port":"6789"}`, `{"host":"::1","port":"6789"}`, `"direct":true`} {
		if !strings.Contains(plain, want) {
			t.Errorf("plain blockdev lacks %s: %s", want, plain)
		}
	}
	if l := js(LibrbdLUKS2); !strings.Contains(l, `"encrypt":{"format":"luks2","key-secret":"bench-pass"}`) {
		t.Errorf("librbd blockdev: %s", l)
	}
	if q := js(QEMULUKS); !strings.HasPrefix(q, `{"cache":{"direct":true},"driver":"luks","file":{`) || !strings.Contains(q, `"key-secret":"bench-pass","node-name":"bench"}`) {
		t.Errorf("QEMU LUKS blockdev: %s", q)
	}
}

// A dir pool's scratch file is claimed with O_EXCL (someone else's file of
// that name is never overwritten) and removed only while it is the same
// file.
func TestDirClaimsAndRemovesOnlyItsOwnFile(t *testing.T) {
	dir := t.TempDir()
	d := &Dir{Path: dir}
	if err := os.WriteFile(filepath.Join(dir, "theirs"), []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create(context.Background(), Plain, "theirs", 16*mib, nil, nil); err == nil {
		t.Fatal("an existing file was taken")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "theirs")); string(b) != "data" {
		t.Fatal("an existing file was changed")
	}
	m, err := d.Create(context.Background(), Plain, "mine", 16*mib, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, "mine")); err != nil || st.Size() != 16*mib || st.Mode().Perm() != 0o600 {
		t.Fatalf("scratch file: %v %v", st, err)
	}
	// Replaced behind our back (mv other mine): left alone.
	p := filepath.Join(dir, "mine")
	if err := os.WriteFile(filepath.Join(dir, "other"), []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "other"), p); err != nil {
		t.Fatal(err)
	}
	if err := m.Undo(context.Background()); !errors.Is(err, plan.ErrNotOurs) {
		t.Errorf("undo of a replaced file = %v, want ErrNotOurs", err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Error("the replacement was removed")
	}
	m2, err := d.Create(context.Background(), Plain, "mine2", 16*mib, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Undo(context.Background()); err != nil {
		t.Fatal(err)
	}
	if names, _ := d.List("mine2"); len(names) != 0 {
		t.Errorf("left: %v", names)
	}
}
