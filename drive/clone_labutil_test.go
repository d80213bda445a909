package drive_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"stowage/ceph"
	"stowage/drive"
	"stowage/lab"
	"stowage/model"
)

// cloneName is a name of this part's tests (prefix t-cl-).
func cloneName(what string) string { return fmt.Sprintf("t-cl-%s-%d", what, time.Now().UnixNano()) }

// qemuTool runs qemu-io or qemu-img with secrets given as 0600 files
// (named s0, s1, … in the order given): never on the command line. On
// failure the output is shown with every secret redacted.
func qemuTool(t *testing.T, secrets []*lab.Secret, files []string, name string, args ...string) (string, error) {
	t.Helper()
	var objs []string
	for i, f := range files {
		objs = append(objs, "--object", fmt.Sprintf("secret,id=s%d,file=%s", i, f))
	}
	// qemu-img wants its objects after the subcommand; qemu-io before
	// everything.
	full := append(objs, args...)
	if name == "qemu-img" {
		full = append([]string{args[0]}, append(objs, args[1:]...)...)
	}
	out, err := exec.Command(name, full...).CombinedOutput()
	for _, s := range secrets {
		if what, _, found := s.Find(out); found {
			t.Errorf("%s printed %s (%s)", name, s, what)
		}
		out = s.Redact(out)
	}
	return string(out), err
}

// cephKeyFile writes the lab's cephx key (base64, as in the keyring) to a
// 0600 file for QEMU's rbd driver.
func cephKeyFile(t *testing.T, env lab.Env) (string, *lab.Secret) {
	t.Helper()
	b, err := os.ReadFile(env.CephKeyring)
	if err != nil {
		t.Fatal(err)
	}
	var key []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if k, v, ok := bytes.Cut(bytes.TrimSpace(l), []byte("=")); ok && string(bytes.TrimSpace(k)) == "key" {
			key = bytes.TrimSpace(v)
		}
	}
	if len(key) == 0 {
		t.Fatalf("no key in %s", env.CephKeyring)
	}
	f := filepath.Join(t.TempDir(), "cephx")
	if err := os.WriteFile(f, key, 0o600); err != nil {
		t.Fatal(err)
	}
	return f, lab.NewSecret("cephx key", key)
}

// rbdOpts is QEMU's rbd driver on the lab pool as the lab user, the key
// from secret id keyID (a base64 secret object).
func rbdOpts(env lab.Env, image, keyID string) string {
	return fmt.Sprintf("driver=rbd,pool=%s,image=%s,user=%s,key-secret=%s,auth-client-required.0=cephx,conf=%s",
		env.CephPool, image, env.CephUser, keyID, env.CephConf)
}

// makeDrive creates a drive through the workflow and removes it (volume,
// image, secret) when the test ends.
func makeDrive(t *testing.T, r *labRig, pool, name string, size uint64, enc model.DriveEncryption) drive.Result {
	t.Helper()
	ctx := context.Background()
	p, err := drive.Prepare(ctx, r.deps, model.DriveSpec{Host: r.env.URI, Pool: pool, Name: name, Size: size, Encryption: enc})
	if err != nil {
		t.Fatal(err)
	}
	res, err := drive.Create(ctx, r.deps, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	removeDriveLater(t, r, pool, name, res.SecretUUID)
	return res
}

// removeDriveLater deletes pool/name (and its secret) at the end, even
// when the test failed.
func removeDriveLater(t *testing.T, r *labRig, pool, name, secret string) {
	t.Cleanup(func() {
		ctx := context.Background()
		_ = r.conn.RefreshPool(ctx, pool)
		_ = r.conn.DeleteVolume(ctx, pool, name)
		if secret != "" {
			_ = r.conn.UndefineSecret(ctx, secret)
		}
	})
}

// clone prepares and runs a clone, failing the test on an error.
func clone(t *testing.T, r *labRig, spec model.CloneSpec) (drive.PreparedClone, drive.Result) {
	t.Helper()
	ctx := context.Background()
	p, err := drive.PrepareClone(ctx, r.deps, spec)
	if err != nil {
		t.Fatal(err)
	}
	res, err := drive.Clone(ctx, r.deps, p, nil)
	removeDriveLater(t, r, spec.Target(), spec.To, res.SecretUUID)
	if err != nil {
		t.Fatal(err)
	}
	return p, res
}

// hostState is what a refused clone must leave as it was: the volumes
// (name, key, capacity) of the pools and the secrets whose name or usage
// mentions one of names (this test's: other tests share the lab pools).
func hostState(t *testing.T, r *labRig, names []string, pools ...string) string {
	t.Helper()
	ctx := context.Background()
	mine := func(s string) bool {
		return slices.ContainsFunc(names, func(n string) bool { return strings.Contains(s, n) })
	}
	var lines []string
	for _, p := range pools {
		vs, err := r.conn.Volumes(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			if mine(v.Name) {
				lines = append(lines, fmt.Sprintf("%s/%s %s %d", p, v.Name, v.Key, v.Capacity))
			}
		}
	}
	ss, err := r.conn.Secrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if mine(s.UsageID) {
			lines = append(lines, s.UUID+" "+s.UsageID)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// auditHas reports whether the rig's audit log holds a record with that
// action and result whose error mentions why.
func auditHas(t *testing.T, r *labRig, action, result, why string) bool {
	t.Helper()
	b, err := os.ReadFile(r.audit)
	if err != nil {
		return false
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		s := string(l)
		if strings.Contains(s, `"action":"`+action+`"`) && strings.Contains(s, `"result":"`+result+`"`) && strings.Contains(s, why) {
			return true
		}
	}
	return false
}

// tempDirPool defines and starts a dir pool of this test's own, removed
// (with whatever it holds) at the end.
func tempDirPool(t *testing.T, r *labRig) string {
	t.Helper()
	name := cloneName("pool")
	dir := filepath.Join(r.env.Dir, "t-cl-", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	virsh(t, "pool-define-as", name, "dir", "--target", dir)
	t.Cleanup(func() {
		out, _ := exec.Command("virsh", "vol-list", name, "--name").Output()
		for _, v := range strings.Fields(string(out)) {
			_ = exec.Command("virsh", "vol-delete", "--pool", name, v).Run()
		}
		_ = exec.Command("virsh", "pool-destroy", name).Run()
		_ = exec.Command("virsh", "pool-undefine", name).Run()
		_ = os.RemoveAll(dir)
	})
	virsh(t, "pool-start", name)
	return name
}

func cephClient(t *testing.T, env lab.Env) *ceph.Client {
	t.Helper()
	cl, err := ceph.Connect(context.Background(), ceph.Config{ConfFile: env.CephConf, User: env.CephUser, Keyring: env.CephKeyring, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// rbdAdmin runs the rbd CLI as client.admin (a second admin acting in
// between).
func rbdAdmin(t *testing.T, env lab.Env, args ...string) string {
	t.Helper()
	d := filepath.Dir(env.CephConf)
	full := append([]string{"-c", env.CephConf, "-k", filepath.Join(d, "client.admin.keyring"), "--id", "admin"}, args...)
	out, err := exec.Command("rbd", full...).CombinedOutput()
	if err != nil {
		t.Fatalf("rbd %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
