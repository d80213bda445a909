package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"

	"stowage/drive"
	"stowage/lab"
)

// cliRun is one `stowage drive` run in this process: its exit code and
// what it wrote.
type cliRun struct {
	rc             int
	stdout, stderr string
}

// driveCLI runs `stowage drive ARGS` with rnd as the passphrase source. A
// test keeps every run so that it can search all output for secrets.
func driveCLI(rnd io.Reader, args ...string) cliRun {
	var out, errb bytes.Buffer
	rc := runDriveWith(args, &out, &errb, rnd)
	return cliRun{rc, out.String(), errb.String()}
}

// result decodes a --json run's result.
func (r cliRun) result(t testing.TB) drive.Result {
	t.Helper()
	var res drive.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("result JSON: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	return res
}

// noRandom fails any read: attaching an existing drive must not make a
// passphrase.
type noRandom struct{ t testing.TB }

func (n noRandom) Read([]byte) (int, error) {
	n.t.Error("attach drew random bytes: it must reuse the drive's secret, not make one")
	return 0, errors.New("no randomness for attach")
}

// domainDisks reads a VM's disks with virsh (live, or the persistent
// config with inactive), keyed by target, and the raw XML.
func domainDisks(t testing.TB, uri, vm string, inactive bool) (map[string]libvirtxml.DomainDisk, string) {
	t.Helper()
	args := []string{"-c", uri, "dumpxml", vm}
	if inactive {
		args = append(args, "--inactive")
	}
	out, err := exec.Command("virsh", args...).Output()
	if err != nil {
		t.Fatalf("virsh dumpxml %s: %v", vm, err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(string(out)); err != nil {
		t.Fatal(err)
	}
	disks := map[string]libvirtxml.DomainDisk{}
	if d.Devices != nil {
		for _, k := range d.Devices.Disks {
			if k.Target != nil {
				disks[k.Target.Dev] = k
			}
		}
	}
	return disks, string(out)
}

// secretsWithUsage counts libvirt secrets whose usage id is id.
func secretsWithUsage(t testing.TB, uri, id string) int {
	t.Helper()
	return len(secretUUIDsWithUsage(t, uri, id))
}

// TestLabDriveAttachExistingDir: a LUKS drive made by `stowage drive
// create` without a VM is attached later by `stowage drive attach`, which
// must reuse the drive's own secret (no new secret, no randomness). virsh
// then shows the disk, with that secret, in the running VM and in its
// config, and QEMU reports the decrypted size (it could open the LUKS
// header with the secret). Detach and delete leave nothing. The passphrase
// appears in no output, file or process.
func TestLabDriveAttachExistingDir(t *testing.T) {
	env := lab.Need(t)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	raw := make([]byte, drive.PassphraseEntropy)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	pass := lab.NewSecret("the drive's passphrase", []byte(base64.RawURLEncoding.EncodeToString(raw)), raw)
	g := lab.Guard(t, pass)
	name := fmt.Sprintf("t-drives-attach-%d", time.Now().UnixNano())
	var runs []cliRun
	cli := func(rnd io.Reader, args ...string) cliRun {
		r := driveCLI(rnd, append([]string{args[0], "--uri", env.URI}, args[1:]...)...)
		runs = append(runs, r)
		return r
	}
	var path string
	t.Cleanup(func() {
		// Whatever failed: out of the VM (a restart clears a live disk the
		// guest never released), then the volume and its secret.
		live, _ := domainDisks(t, env.URI, env.VM, false)
		cfg, _ := domainDisks(t, env.URI, env.VM, true)
		dirty := false
		for dev, k := range cfg {
			if k.Source != nil && k.Source.File != nil && k.Source.File.File == path {
				_ = exec.Command("virsh", "-c", env.URI, "detach-disk", env.VM, dev, "--config").Run()
			}
		}
		for _, k := range live {
			dirty = dirty || (k.Source != nil && k.Source.File != nil && k.Source.File.File == path)
		}
		if dirty && path != "" {
			env.RestartVM(t)
		}
		_ = exec.Command("virsh", "-c", env.URI, "vol-delete", "--pool", env.DirPool, name).Run()
	})

	procs := lab.WatchProcesses(2 * time.Millisecond)
	created := cli(bytes.NewReader(raw), "create", "--pool", env.DirPool, "--name", name, "--size", "16M", "--encryption", "luks", "--json")
	if created.rc != 0 {
		g.Fatalf("create: exit %d\n%s", created.rc, created.stderr)
	}
	c := created.result(g)
	path = c.Path
	if c.SecretUUID == "" || c.Target != "" {
		g.Fatalf("create without --attach: %+v", c)
	}
	// The volume as libvirt describes it, not as stowage says.
	var vx libvirtxml.StorageVolume
	if err := vx.Unmarshal(mustVirsh(t, env.URI, "vol-dumpxml", "--pool", env.DirPool, name)); err != nil {
		t.Fatal(err)
	}
	if e := vx.Target.Encryption; e == nil || e.Format != "luks" || e.Secret == nil || e.Secret.UUID != c.SecretUUID {
		g.Fatalf("vol-dumpxml encryption %+v; want luks with secret %s", vx.Target.Encryption, c.SecretUUID)
	}
	if n := secretsWithUsage(t, env.URI, path); n != 1 {
		g.Fatalf("%d secrets for %s after create, want 1", n, path)
	}

	// make test runs one test at a time (-p 1, none parallel), so no other
	// test takes a target of the lab VM in between.
	att := cli(noRandom{g}, "attach", "--pool", env.DirPool, "--name", name, "--vm", env.VM, "--json")
	if att.rc != 0 {
		g.Fatalf("attach: exit %d\n%s", att.rc, att.stderr)
	}
	a := att.result(g)
	if a.SecretUUID != c.SecretUUID || a.Target == "" {
		g.Errorf("attach result %+v; want the drive's secret %s and a target", a, c.SecretUUID)
	}
	// Neither --live nor --persistent means both: virsh must show the
	// disk in the running VM and in its config, with the drive's secret.
	for _, inactive := range []bool{false, true} {
		disks, _ := domainDisks(t, env.URI, env.VM, inactive)
		k, ok := disks[a.Target]
		switch {
		case !ok:
			g.Errorf("inactive=%v: no disk %s in %s", inactive, a.Target, env.VM)
		case k.Source == nil || k.Source.File == nil || k.Source.File.File != path:
			g.Errorf("inactive=%v: disk %s source %+v, want file %s", inactive, a.Target, k.Source, path)
		default:
			enc := k.Encryption
			if enc == nil && k.Source.Encryption != nil {
				enc = k.Source.Encryption
			}
			if enc == nil || enc.Format != "luks" || len(enc.Secrets) != 1 || enc.Secrets[0].UUID != c.SecretUUID {
				g.Errorf("inactive=%v: disk %s encryption %+v; want luks with secret %s", inactive, a.Target, enc, c.SecretUUID)
			}
		}
	}
	// QEMU opened the LUKS header with that secret: the guest sees the
	// payload, exactly the 16 MiB asked for.
	info := colonFields(mustVirsh(t, env.URI, "domblkinfo", env.VM, a.Target))
	if info["Capacity"] != "16777216" {
		g.Errorf("domblkinfo %s: %v; want Capacity 16777216 (the decrypted payload)", a.Target, info)
	}
	if n := secretsWithUsage(t, env.URI, path); n != 1 {
		g.Errorf("%d secrets for %s after attach, want still 1", n, path)
	}

	det := cli(nil, "detach", "--vm", env.VM, "--target", a.Target, "--json")
	if det.rc != 0 {
		g.Fatalf("detach: exit %d\n%s", det.rc, det.stderr)
	}
	if cfg, _ := domainDisks(t, env.URI, env.VM, true); cfg[a.Target].Target != nil {
		g.Errorf("disk %s still in the persistent config after detach", a.Target)
	}
	if live, _ := domainDisks(t, env.URI, env.VM, false); live[a.Target].Target != nil {
		// The lab guest has no OS to acknowledge the unplug: stowage must
		// say so, and a restart completes it.
		if d := det.result(g); len(d.Notes) == 0 || !strings.Contains(d.Notes[0], "has not yet released") {
			g.Errorf("the live disk is still there but detach does not say so: %+v", d)
		}
		env.RestartVM(t)
	}
	del := cli(nil, "delete", "--pool", env.DirPool, "--name", name, "--confirm", name)
	procs.Stop()
	if del.rc != 0 {
		g.Fatalf("delete: exit %d\n%s", del.rc, del.stderr)
	}
	if _, err := virsh(t, env.URI, "vol-info", "--pool", env.DirPool, name); err == nil {
		g.Errorf("volume %s left behind", name)
	}
	if n := secretsWithUsage(t, env.URI, path); n != 0 {
		g.Errorf("%d secrets for %s left behind", n, path)
	}

	for i, r := range runs {
		pass.AssertAbsent(g, fmt.Sprintf("stdout of run %d", i), []byte(r.stdout))
		pass.AssertAbsent(g, fmt.Sprintf("stderr of run %d", i), []byte(r.stderr))
	}
	files := pass.AssertAbsentInFiles(g, state)
	for _, want := range []string{filepath.Join("stowage", "audit.jsonl"), filepath.Join("stowage", "stowage.log")} {
		if !containsString(files, want) {
			g.Errorf("%s was not written: the leak check of it proves nothing (files: %v)", want, files)
		}
	}
	if !procs.Saw("qemu-img", name) {
		g.Error("the process watch never saw libvirt's qemu-img for the drive: its check proves nothing")
	}
	procs.AssertAbsent(g, pass)
}

func containsString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// TestLabDriveAttachExistingRBD: an RBD image formatted LUKS2 by the rbd
// CLI (not by stowage), with its private volume secret defined by virsh,
// is attached by `stowage drive attach`. libvirt 9.0 cannot hot-plug a
// librbd-encrypted disk (LAB_NOTES), so stowage must refuse a live attach
// and name the two ways out, the qemu way is impossible for LUKS2, and
// next-start (or --persistent) attaches to the config only, with
// <encryption format='luks2' engine='librbd'> inside <source>, which virsh
// shows in the persistent XML and not in the live one.
func TestLabDriveAttachExistingRBD(t *testing.T) {
	env := lab.Need(t)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	img := fmt.Sprintf("t-drives-attach-rbd-%d", time.Now().UnixNano())
	spec := env.CephPool + "/" + img
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	passText := []byte(base64.RawURLEncoding.EncodeToString(raw))
	pass := lab.NewSecret("the image's passphrase", passText, raw)
	g := lab.Guard(t, pass)
	passFile := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(passFile, passText, 0o600); err != nil {
		t.Fatal(err)
	}
	rbd := func(args ...string) {
		t.Helper()
		cmd := exec.Command("rbd", append([]string{"-c", env.CephConf, "-k", env.CephKeyring, "--id", env.CephUser}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			g.Fatalf("rbd %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	rbd("create", "--size", "32M", spec)
	t.Cleanup(func() {
		_ = exec.Command("rbd", "-c", env.CephConf, "-k", env.CephKeyring, "--id", env.CephUser, "rm", "--no-progress", spec).Run()
		_ = exec.Command("virsh", "-c", env.URI, "pool-refresh", env.RBDPool).Run()
	})
	rbd("encryption", "format", spec, "luks2", passFile)
	mustVirsh(t, env.URI, "pool-refresh", env.RBDPool)
	secretUUID := defineSecretXML(t, env.URI, &libvirtxml.Secret{Ephemeral: "no", Private: "yes",
		Description: "test passphrase of " + spec, Usage: &libvirtxml.SecretUsage{Type: "volume", Volume: spec}})
	mustVirsh(t, env.URI, "secret-set-value", secretUUID, "--file", passFile, "--plain")

	// Whatever fails below, the VM's config ends without the image.
	t.Cleanup(func() {
		cfg, _ := domainDisks(t, env.URI, env.VM, true)
		for dev, k := range cfg {
			if k.Source != nil && k.Source.Network != nil && k.Source.Network.Name == spec {
				_ = exec.Command("virsh", "-c", env.URI, "detach-disk", env.VM, dev, "--config").Run()
			}
		}
	})
	var runs []cliRun
	cli := func(args ...string) cliRun {
		r := driveCLI(noRandom{g}, append([]string{"attach", "--uri", env.URI, "--pool", env.RBDPool, "--name", img, "--vm", env.VM}, args...)...)
		runs = append(runs, r)
		return r
	}
	cephFlags := []string{"--ceph-conf", env.CephConf, "--ceph-keyring", env.CephKeyring}
	hasImage := func(inactive bool) (string, libvirtxml.DomainDisk, string) {
		disks, doc := domainDisks(t, env.URI, env.VM, inactive)
		for dev, k := range disks {
			if k.Source != nil && k.Source.Network != nil && k.Source.Network.Name == spec {
				return dev, k, doc
			}
		}
		return "", libvirtxml.DomainDisk{}, doc
	}
	assertNotAttached := func(when string) {
		t.Helper()
		for _, inactive := range []bool{false, true} {
			if dev, _, _ := hasImage(inactive); dev != "" {
				g.Errorf("%s: the image is disk %s of %s (inactive=%v)", when, dev, env.VM, inactive)
			}
		}
	}

	// A live attach (asked for, or implied by giving neither mode) is
	// refused with the choice, and changes nothing.
	for _, mode := range [][]string{nil, {"--live"}, {"--live", "--persistent"}} {
		r := cli(append(mode, cephFlags...)...)
		if r.rc != 1 || !strings.Contains(r.stderr, "cannot be hot-plugged") || !strings.Contains(r.stderr, "next-start") {
			g.Errorf("attach %v: exit %d, stderr %q; want the hot-plug refusal naming next-start", mode, r.rc, r.stderr)
		}
		assertNotAttached(fmt.Sprintf("refused attach %v", mode))
	}
	// The qemu fallback decrypts in QEMU, which reads LUKS1 only.
	if r := cli(append([]string{"--hotplug-fallback", "qemu"}, cephFlags...)...); r.rc != 1 || !strings.Contains(r.stderr, "not possible for LUKS2") {
		g.Errorf("attach --hotplug-fallback qemu of a LUKS2 image: exit %d, stderr %q; want a refusal", r.rc, r.stderr)
	}
	assertNotAttached("refused qemu fallback")

	// next-start, reading the LUKS version from the image header through
	// Ceph; then --persistent with the version given and no Ceph access.
	for _, args := range [][]string{
		append([]string{"--hotplug-fallback", "next-start", "--json"}, cephFlags...),
		{"--persistent", "--encryption", "luks2", "--json"},
	} {
		r := cli(args...)
		if r.rc != 0 {
			g.Fatalf("attach %v: exit %d\n%s", args, r.rc, r.stderr)
		}
		res := r.result(g)
		if res.SecretUUID != secretUUID || res.Attach != "persistent" || res.Encryption != "luks2" {
			g.Errorf("attach %v: result %+v; want persistent, luks2, secret %s", args, res, secretUUID)
		}
		if dev, _, _ := hasImage(false); dev != "" {
			g.Errorf("attach %v: the image is in the running VM as %s; libvirt 9.0 cannot hot-plug it", args, dev)
		}
		dev, k, doc := hasImage(true)
		if dev == "" || dev != res.Target {
			g.Fatalf("attach %v: persistent config has the image as %q, result says %q", args, dev, res.Target)
		}
		// virsh's own words first, then the parsed disk.
		if !strings.Contains(doc, "engine='librbd'") {
			g.Errorf("attach %v: the persistent XML has no engine='librbd'", args)
		}
		src := k.Source
		if k.Encryption != nil || src.Encryption == nil || src.Encryption.Format != "luks2" || src.Encryption.Engine != "librbd" ||
			len(src.Encryption.Secrets) != 1 || src.Encryption.Secrets[0].UUID != secretUUID {
			g.Errorf("attach %v: disk encryption %+v / source encryption %+v; want <source><encryption format='luks2' engine='librbd'> with secret %s",
				args, k.Encryption, src.Encryption, secretUUID)
		}
		if src.Network.Protocol != "rbd" || src.Network.Auth == nil || src.Network.Auth.Username != env.CephUser ||
			src.Network.Auth.Secret == nil || src.Network.Auth.Secret.UUID != env.CephSecret || len(src.Network.Hosts) == 0 {
			g.Errorf("attach %v: rbd source %+v; want the pool's monitors and cephx auth (%s, %s)", args, src.Network, env.CephUser, env.CephSecret)
		}
		d := driveCLI(nil, "detach", "--uri", env.URI, "--vm", env.VM, "--target", dev, "--persistent")
		runs = append(runs, d)
		if d.rc != 0 {
			g.Fatalf("detach --persistent %s: exit %d\n%s", dev, d.rc, d.stderr)
		}
		assertNotAttached(fmt.Sprintf("after detaching %v", args))
	}
	if n := secretsWithUsage(t, env.URI, spec); n != 1 {
		g.Errorf("%d secrets for %s after the attaches, want the one the test made", n, spec)
	}
	for i, r := range runs {
		pass.AssertAbsent(g, fmt.Sprintf("stdout of run %d", i), []byte(r.stdout))
		pass.AssertAbsent(g, fmt.Sprintf("stderr of run %d", i), []byte(r.stderr))
	}
	pass.AssertAbsentInFiles(g, state)
}

// TestLabLeakPassphraseCLILibrbd: `stowage drive create --encryption
// luks2` on the rbd pool (librbd formats in this process; the disk goes
// to the VM's config, next-start), then detach and delete, all through
// the CLI with a known passphrase source. The passphrase is in no stdout
// or stderr, no file under the state directory (audit log, stowage.log),
// no process's argv or environment, and not in the test's output.
func TestLabLeakPassphraseCLILibrbd(t *testing.T) {
	env := lab.Need(t)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	raw := make([]byte, drive.PassphraseEntropy)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	pass := lab.NewSecret("the drive's passphrase", []byte(base64.RawURLEncoding.EncodeToString(raw)), raw)
	g := lab.Guard(t, pass)
	name := fmt.Sprintf("t-drives-leak-cli-rbd-%d", time.Now().UnixNano())
	spec := env.CephPool + "/" + name
	t.Cleanup(func() {
		cfg, _ := domainDisks(t, env.URI, env.VM, true)
		for dev, k := range cfg {
			if k.Source != nil && k.Source.Network != nil && k.Source.Network.Name == spec {
				_ = exec.Command("virsh", "-c", env.URI, "detach-disk", env.VM, dev, "--config").Run()
			}
		}
		_ = exec.Command("virsh", "-c", env.URI, "vol-delete", "--pool", env.RBDPool, name).Run()
		for _, u := range secretUUIDsWithUsage(t, env.URI, spec) {
			_ = exec.Command("virsh", "-c", env.URI, "secret-undefine", u).Run()
		}
	})
	var runs []cliRun
	procs := lab.WatchProcesses(2 * time.Millisecond)
	c := driveCLI(bytes.NewReader(raw), "create", "--uri", env.URI, "--pool", env.RBDPool, "--name", name, "--size", "16M",
		"--encryption", "luks2", "--attach", env.VM, "--hotplug-fallback", "next-start",
		"--ceph-conf", env.CephConf, "--ceph-keyring", env.CephKeyring, "--json")
	runs = append(runs, c)
	if c.rc != 0 {
		g.Fatalf("create: exit %d\n%s", c.rc, c.stderr)
	}
	res := c.result(g)
	if _, doc := domainDisks(t, env.URI, env.VM, true); !strings.Contains(doc, "engine='librbd'") {
		g.Error("the VM's config has no librbd-encrypted disk: the librbd path did not run")
	}
	for _, args := range [][]string{
		{"detach", "--uri", env.URI, "--vm", env.VM, "--target", res.Target, "--persistent"},
		{"delete", "--uri", env.URI, "--pool", env.RBDPool, "--name", name, "--confirm", name},
	} {
		r := driveCLI(nil, args...)
		runs = append(runs, r)
		if r.rc != 0 {
			g.Fatalf("%s: exit %d\n%s", args[0], r.rc, r.stderr)
		}
	}
	procs.Stop()
	if u := secretUUIDsWithUsage(t, env.URI, spec); len(u) != 0 {
		g.Errorf("secrets for %s left: %v", spec, u)
	}
	for i, r := range runs {
		pass.AssertAbsent(g, fmt.Sprintf("stdout of run %d", i), []byte(r.stdout))
		pass.AssertAbsent(g, fmt.Sprintf("stderr of run %d", i), []byte(r.stderr))
	}
	files := pass.AssertAbsentInFiles(g, state)
	for _, want := range []string{filepath.Join("stowage", "audit.jsonl"), filepath.Join("stowage", "stowage.log")} {
		if !containsString(files, want) {
			g.Errorf("%s was not written: the leak check of it proves nothing (files: %v)", want, files)
		}
	}
	procs.AssertAbsent(g, pass)
}

// secretUUIDsWithUsage lists the UUIDs of libvirt secrets whose usage id is id.
func secretUUIDsWithUsage(t testing.TB, uri, id string) []string {
	t.Helper()
	out, err := exec.Command("virsh", "-c", uri, "secret-list").Output()
	if err != nil {
		t.Fatal(err)
	}
	var uuids []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[len(f)-1] == id {
			uuids = append(uuids, f[0])
		}
	}
	return uuids
}
