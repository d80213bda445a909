package drive

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/model"
)

// The fake host clones as libvirt does: a name taken is an error and
// nothing is made.
func (f *fakeLibvirt) CloneVolumeWatched(_ context.Context, pool string, s model.VolumeSpec, _ *model.Cipher, fromPool, from string, _ model.CreateWatch) (model.Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.mutate("clone-volume " + fromPool + "/" + from + " " + pool + "/" + s.Name); err != nil {
		return model.Volume{}, err
	}
	if _, ok := f.vols[pool+"/"+s.Name]; ok {
		return model.Volume{}, fmt.Errorf("storage volume '%s' already exists", s.Name)
	}
	p := path.Join(f.pools[pool].TargetPath, s.Name)
	v := model.Volume{Name: s.Name, Pool: pool, Path: p, Key: p, Capacity: s.Capacity, Encryption: s.Encryption}
	f.vols[pool+"/"+s.Name] = v
	return v, nil
}

// ReadVolumeHead gives a LUKS1 header whose UUID is the volume's name
// (every format makes a new one), or the source's for a volume marked as
// a byte copy.
func (f *fakeLibvirt) ReadVolumeHead(_ context.Context, pool, vol string, n uint64) ([]byte, error) {
	h := make([]byte, n)
	copy(h, append(append([]byte{}, LUKSMagic...), 0, 1))
	id := vol
	if f.byteCopy && vol != "src" {
		id = "src"
	}
	copy(h[luksUUIDAt:], id)
	return h, nil
}

func (f *fakeLibvirt) CopyDecrypted(context.Context, model.DiskSpec, model.DiskSpec, time.Duration, time.Duration, func(uint64, uint64)) error {
	return f.mutate("copy-decrypted")
}

// Every refusal says what is wrong, is audited, and calls nothing that
// changes the host.
func TestPrepareCloneRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec model.CloneSpec
		vols map[string]model.Volume
		why  string
	}{
		{"no new name", model.CloneSpec{Pool: "dir", Name: "src"}, nil, "--to NEW"},
		{"no source", model.CloneSpec{Pool: "dir", Name: "ghost", To: "n"}, nil, "does not exist"},
		{"inactive target", model.CloneSpec{Pool: "dir", Name: "src", ToPool: "off", To: "n"}, nil, "inactive"},
		{"no pool", model.CloneSpec{Pool: "dir", Name: "src", ToPool: "other-host-pool", To: "n"}, nil, "stays on its host"},
		{"dir to rbd", model.CloneSpec{Pool: "dir", Name: "src", ToPool: "rbd", To: "n"}, nil, "same kind"},
		{"iscsi target", model.CloneSpec{Pool: "dir", Name: "src", ToPool: "iscsi", To: "n"}, nil, "cannot hold new drives"},
		{"name taken", model.CloneSpec{Pool: "dir", Name: "src", To: "taken"}, nil, "never overwrites"},
		{"bad method", model.CloneSpec{Pool: "dir", Name: "src", To: "n", RBDMethod: "snap"}, nil, "use copy"},
		{"LUKS without a secret", model.CloneSpec{Pool: "dir", Name: "bare", To: "n"},
			map[string]model.Volume{"dir/bare": {Name: "bare", Pool: "dir", Key: "/p/bare", Path: "/p/bare", Format: "luks"}}, "share the source's key"},
		{"qcow encryption", model.CloneSpec{Pool: "dir", Name: "qc", To: "n"},
			map[string]model.Volume{"dir/qc": {Name: "qc", Pool: "dir", Key: "/p/qc", Path: "/p/qc", Encryption: &model.Encryption{Format: "qcow", SecretUUID: "s"}}}, "QEMU-layer LUKS only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.vols["dir/src"] = model.Volume{Name: "src", Pool: "dir", Key: "/p/src", Path: "/p/src", Capacity: 1 << 20}
			for k, v := range tc.vols {
				f.vols[k] = v
			}
			audit := filepath.Join(t.TempDir(), "audit.jsonl")
			_, err := PrepareClone(context.Background(), Deps{Libvirt: f, Host: "h", Audit: NewAudit(audit)}, tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("%v; want a refusal saying %q", err, tc.why)
			}
			if len(f.calls) != 0 {
				t.Errorf("a refusal changed the host: %v", f.calls)
			}
			if b, _ := os.ReadFile(audit); !strings.Contains(string(b), `"result":"refused"`) {
				t.Errorf("not audited: %s", b)
			}
		})
	}
}

// A secret left with the clone's usage is refused (attach would pair it
// with the clone), and the source's own secret never becomes the clone's.
func TestCloneQEMULUKSGetsItsOwnSecret(t *testing.T) {
	f := newFake()
	f.secrets["src-secret"] = model.Secret{UUID: "src-secret", UsageType: "volume", UsageID: "/p/src", Private: true}
	f.vols["dir/src"] = model.Volume{Name: "src", Pool: "dir", Key: "/p/src", Path: "/p/src", Capacity: 1 << 20,
		Encryption: &model.Encryption{Format: "luks", SecretUUID: "src-secret"}}
	d := Deps{Libvirt: f, Host: "h"}
	f.secrets["old"] = model.Secret{UUID: "old", UsageType: "volume", UsageID: "/p/left"}
	if _, err := PrepareClone(context.Background(), d, model.CloneSpec{Pool: "dir", Name: "src", To: "left"}); err == nil || !strings.Contains(err.Error(), "already has the usage") {
		t.Errorf("a leftover secret with the clone's usage: %v; want refused", err)
	}
	p, err := PrepareClone(context.Background(), d, model.CloneSpec{Pool: "dir", Name: "src", To: "new"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Clone(context.Background(), d, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := f.vols["dir/new"]
	if res.SecretUUID == "" || res.SecretUUID == "src-secret" || v.Encryption == nil || v.Encryption.SecretUUID != res.SecretUUID {
		t.Errorf("clone secret %q, volume encryption %+v; want a new secret of its own", res.SecretUUID, v.Encryption)
	}
	if len(f.values[res.SecretUUID]) != 43 {
		t.Errorf("the new secret's value is %d bytes, want a 43-byte passphrase", len(f.values[res.SecretUUID]))
	}
}

// Another admin takes the name after the checks: the copy fails, the
// rollback undefines this run's secret and deletes nothing.
func TestCloneNameTakenInBetweenRollsBackOnlyOurs(t *testing.T) {
	f := newFake()
	f.secrets["src-secret"] = model.Secret{UUID: "src-secret", UsageID: "/p/src", Private: true}
	f.vols["dir/src"] = model.Volume{Name: "src", Pool: "dir", Key: "/p/src", Path: "/p/src", Capacity: 1 << 20,
		Encryption: &model.Encryption{Format: "luks", SecretUUID: "src-secret"}}
	d := Deps{Libvirt: f, Host: "h"}
	p, err := PrepareClone(context.Background(), d, model.CloneSpec{Pool: "dir", Name: "src", To: "new"})
	if err != nil {
		t.Fatal(err)
	}
	f.vols["dir/new"] = model.Volume{Name: "new", Pool: "dir", Key: "theirs", Path: "/p/new"}
	_, err = Clone(context.Background(), d, p, nil)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("%v; want the copy to fail on the name", err)
	}
	if v, ok := f.vols["dir/new"]; !ok || v.Key != "theirs" {
		t.Errorf("their volume: %+v %v", v, ok)
	}
	for _, c := range f.calls {
		if strings.HasPrefix(c, "delete-volume") {
			t.Errorf("the rollback deleted a volume: %v", f.calls)
		}
	}
	if _, ok, _ := f.SecretByVolumeUsage(context.Background(), "/p/new"); ok {
		t.Error("this run's secret was left behind")
	}
	if _, ok := f.secrets["src-secret"]; !ok || errors.Is(err, ErrSharedKey) {
		t.Error("the source's secret was touched")
	}
}

// A backend that copies bytes (libvirt into an LV) leaves the source's
// LUKS header under the new secret's name: the verify reads the headers,
// refuses the shared key and rolls the clone and its secret back.
func TestCloneByteCopyOfLUKSIsCaught(t *testing.T) {
	f := newFake()
	f.byteCopy = true
	f.vols["dir/src"] = model.Volume{Name: "src", Pool: "dir", Key: "/p/src", Path: "/p/src", Capacity: 1 << 20,
		Encryption: &model.Encryption{Format: "luks", SecretUUID: "src-secret"}}
	d := Deps{Libvirt: f, Host: "h"}
	p, err := PrepareClone(context.Background(), d, model.CloneSpec{Pool: "dir", Name: "src", To: "new"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Clone(context.Background(), d, p, nil); !errors.Is(err, ErrSharedKey) || !strings.Contains(err.Error(), "byte copy") {
		t.Fatalf("%v; want the shared header caught", err)
	}
	if _, ok := f.vols["dir/new"]; ok {
		t.Error("the byte copy was left")
	}
	if _, ok, _ := f.SecretByVolumeUsage(context.Background(), "/p/new"); ok {
		t.Error("its secret was left")
	}
	f.byteCopy = false
	if _, err := PrepareClone(context.Background(), d, model.CloneSpec{Pool: "dir", Name: "src", ToPool: "lvm", To: "new"}); !errors.Is(err, ErrSharedKey) || !strings.Contains(err.Error(), "byte for byte") {
		t.Errorf("QEMU-LUKS into a logical pool: %v; want refused", err)
	}
}
