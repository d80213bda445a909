// Package lab gives tests the real storage lab that lab/up starts: it reads
// lab/env and decides whether a test without the lab skips or fails.
//
// Tests import it; stowage's binary never does. It imports nothing of
// stowage.
package lab

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Env is what lab/up wrote to lab/env.
type Env struct {
	Dir            string
	URI            string
	DirPool        string
	RBDPool        string
	ISCSIPool      string
	VM             string
	VMAccel        string
	CephConf       string
	CephPool       string
	CephUser       string
	CephKeyring    string
	CephSecret     string
	ISCSIPortal    string
	ISCSITarget    string
	ISCSIInitiator string
	// SSHURI reaches the lab's libvirtd through the lab's sshd (qemu+ssh
	// with the lab's client key and known_hosts); SSHHostKey is the sshd's
	// public host key file.
	SSHURI     string
	SSHHostKey string
	// TLSURI reaches the lab's second, TLS-listening libvirtd (user
	// nobody, a session daemon on 127.0.0.1 with the lab's own CA and
	// certificates; ?pkipath= names the client's); TLSPool is a dir pool
	// it holds.
	TLSURI  string
	TLSPool string
	// Scripts is the lab/ directory holding up, down and status.
	Scripts string
}

// Required reports whether the lab must be present (STOWAGE_LAB=require,
// which `make test` and CI set): then a missing lab fails a test instead
// of skipping it.
func Required() bool { return os.Getenv("STOWAGE_LAB") == "require" }

// Dir returns the lab/ directory of this checkout.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// Load reads lab/env.
func Load() (Env, error) {
	dir := Dir()
	path := filepath.Join(dir, "env")
	f, err := os.Open(path)
	if err != nil {
		return Env{}, fmt.Errorf("no lab environment (%s): start the lab with lab/up, or run `make test`", path)
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return Env{}, fmt.Errorf("%s: malformed line %q (want KEY=VALUE)", path, line)
		}
		kv[k] = v
	}
	if err := sc.Err(); err != nil {
		return Env{}, fmt.Errorf("read %s: %w", path, err)
	}
	e := Env{
		Dir: kv["STOWAGE_LAB_DIR"], URI: kv["STOWAGE_LAB_URI"],
		DirPool: kv["STOWAGE_LAB_DIR_POOL"], RBDPool: kv["STOWAGE_LAB_RBD_POOL"],
		ISCSIPool: kv["STOWAGE_LAB_ISCSI_POOL"], VM: kv["STOWAGE_LAB_VM"],
		VMAccel: kv["STOWAGE_LAB_VM_ACCEL"], CephConf: kv["STOWAGE_LAB_CEPH_CONF"],
		CephPool: kv["STOWAGE_LAB_CEPH_POOL"], CephUser: kv["STOWAGE_LAB_CEPH_USER"],
		CephKeyring: kv["STOWAGE_LAB_CEPH_KEYRING"], CephSecret: kv["STOWAGE_LAB_CEPH_SECRET_UUID"],
		ISCSIPortal: kv["STOWAGE_LAB_ISCSI_PORTAL"], ISCSITarget: kv["STOWAGE_LAB_ISCSI_TARGET"],
		ISCSIInitiator: kv["STOWAGE_LAB_ISCSI_INITIATOR"], Scripts: dir,
		SSHURI: kv["STOWAGE_LAB_SSH_URI"], SSHHostKey: kv["STOWAGE_LAB_SSH_HOST_KEY"],
		TLSURI: kv["STOWAGE_LAB_TLS_URI"], TLSPool: kv["STOWAGE_LAB_TLS_POOL"],
	}
	if e.URI == "" || e.DirPool == "" || e.VM == "" {
		return Env{}, fmt.Errorf("%s is incomplete: rerun lab/up", path)
	}
	return e, nil
}

// Need returns the lab for an integration test. Without it the test skips
// (naming `make test`), or fails when STOWAGE_LAB=require.
func Need(t testing.TB) Env {
	t.Helper()
	e, err := Load()
	if err != nil {
		if Required() {
			t.Fatalf("the lab is required (STOWAGE_LAB=require) but not usable: %v", err)
		}
		t.Skipf("integration test needs the lab: %v", err)
	}
	return e
}

// RestartVM stops and starts the lab VM. Its guest has no OS to acknowledge
// an ACPI unplug, so a disk detached live stays in the running VM until it
// stops; tests that attach live call this to leave the VM as they found it.
func (e Env) RestartVM(t testing.TB) {
	t.Helper()
	for _, args := range [][]string{{"destroy", e.VM}, {"start", e.VM}} {
		cmd := exec.Command("virsh", append([]string{"-c", e.URI}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("virsh %s: %v: %s", strings.Join(args, " "), err, out)
			return
		}
	}
}

// Unavailable ends a test whose precondition this machine lacks (root, a
// tmpfs mount): a skip for a developer, a failure under STOWAGE_LAB=require,
// so that CI never passes without having run it.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf("required by STOWAGE_LAB=require but cannot run here: "+format, args...)
	}
	t.Skipf(format, args...)
}
