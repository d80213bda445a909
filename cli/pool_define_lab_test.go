package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/lab"
	"stowage/plan"
)

func pdRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// pdPools lists the pools this file's tests could leave (t-pd-*) and the
// lab's own, with their UUIDs: other tests define pools of their own on
// the same lab meanwhile.
func pdPools(t *testing.T, uri string) string {
	t.Helper()
	out, err := virsh(t, uri, "pool-list", "--all", "--name")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, n := range strings.Fields(out) {
		if strings.HasPrefix(n, "t-pd-") || strings.HasPrefix(n, "stowage-lab-") {
			u, _ := virsh(t, uri, "pool-uuid", n)
			fmt.Fprintf(&b, "%s %s\n", n, strings.TrimSpace(u))
		}
	}
	return b.String()
}

func pdAudit(t *testing.T, state string) []plan.Record {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(state, "stowage", "audit.jsonl"))
	var recs []plan.Record
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r plan.Record
		if l != "" && json.Unmarshal([]byte(l), &r) == nil {
			recs = append(recs, r)
		}
	}
	return recs
}

// The headless verb refuses bad input with the flag named and the right
// form said (exit 2), refuses under --readonly (audited), and changes
// nothing either way.
func TestLabPoolDefineRefusals(t *testing.T) {
	env := lab.Need(t)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	before := pdPools(t, env.URI)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--type", "dir", "--name", "t-pd-x", "--target", "var/x"}, "--target: directory \"var/x\" is relative: give an absolute path, e.g. /var/x"},
		{[]string{"--type", "netfs", "--name", "t-pd-x", "--target", "/m", "--source-host", "nas", "--source-path", "exports"}, "--source-path:"},
		{[]string{"--type", "logical", "--name", "t-pd-x", "--source-name", "bad vg"}, "--source-name:"},
		{[]string{"--type", "iscsi-direct", "--name", "t-pd-x", "--portal", env.ISCSIPortal, "--iqn", env.ISCSITarget}, "--initiator:"},
		{[]string{"--type", "disk", "--name", "t-pd-x", "--source-dev", "/dev/sdz", "--build", "--overwrite"}, "--confirm t-pd-x"},
		{[]string{"--type", "rbd", "--name", "t-pd-x", "--monitor", "127.0.0.1", "--ceph-pool", "p", "--ceph-user", "u"}, "--ceph-keyring"},
		{[]string{"--type", "zfs", "--name", "t-pd-x"}, "stowage defines dir, fs, netfs"},
		{[]string{"--type", "dir", "--name", "stowage-lab-dir", "--target", "/var/tmp/stowage-lab/t-pd-taken", "--readonly"}, "--readonly"},
	} {
		code, _, errb := pdRun(t, append([]string{"pool", "define", "--uri", env.URI}, c.args...)...)
		if code != 2 || !strings.Contains(errb, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errb, c.want)
		}
	}
	// A name the lab's pool has: refused by the preflight (exit 1), theirs untouched.
	code, _, errb := pdRun(t, "pool", "define", "--uri", env.URI, "--type", "dir", "--name", env.DirPool, "--target", "/var/tmp/stowage-lab/t-pd-taken")
	if code != 1 || !strings.Contains(errb, "exists on this host") {
		t.Errorf("taken name: exit %d, %q", code, errb)
	}
	if after := pdPools(t, env.URI); after != before {
		t.Errorf("refusals changed the pools:\n%s\n%s", before, after)
	}
	if _, err := os.Stat("/var/tmp/stowage-lab/t-pd-taken"); err == nil {
		t.Error("a refused define made its directory")
	}
	refused := 0
	for _, r := range pdAudit(t, state) {
		if r.Result == plan.ResultRefused && r.Action == "define pool" {
			refused++
		}
	}
	if refused != 9 {
		t.Errorf("audit holds %d refusals, want 9 (every one)", refused)
	}
}

// The bad-input case: a netfs pool on an export that does not
// exist is refused with the mount failure named, and nothing stays
// defined; discovery at a host without NFS says so.
func TestLabPoolDefineWrongNFSExport(t *testing.T) {
	env := lab.Need(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	name := fmt.Sprintf("t-pd-nfs-%d", time.Now().UnixNano()%1e9)
	dir := filepath.Join(env.Dir, name)
	t.Cleanup(func() { virsh(t, env.URI, "pool-undefine", name); os.RemoveAll(dir) })
	before := pdPools(t, env.URI)
	code, out, errb := pdRun(t, "pool", "define", "--uri", env.URI, "--type", "netfs", "--name", name,
		"--source-host", "127.0.0.1", "--source-path", "/t-pd-nope", "--target", filepath.Join(dir, "mnt"), "--json")
	if code != 1 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errb)
	}
	var res poolDefineResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if !strings.Contains(res.Error, "mounting the NFS export 127.0.0.1:/t-pd-nope") || !strings.Contains(res.Error, "mount") {
		t.Errorf("error does not name the mount failure: %q", res.Error)
	}
	if len(res.Removed) != 2 || len(res.Left) != 0 {
		t.Errorf("removed %q, left %v: want the directory and the pool removed, nothing left", res.Removed, res.Left)
	}
	if after := pdPools(t, env.URI); after != before {
		t.Errorf("pools changed:\n%s\n%s", before, after)
	}
	if _, err := os.Stat(filepath.Join(dir, "mnt")); err == nil {
		t.Error("the mount point this run made is still there")
	}

	code, _, errb = pdRun(t, "pool", "sources", "--uri", env.URI, "--type", "netfs", "--host", "127.0.0.1")
	if code != 1 || !strings.Contains(errb, "no NFS exports found at 127.0.0.1") {
		t.Errorf("sources at a host without NFS: exit %d, %q", code, errb)
	}
}

// iscsi-direct sources go through the iscsi discovery, never libvirt's
// iscsi-direct discovery (it crashes libvirtd 9.0): libvirtd is alive
// after, and the message says why the host cannot discover.
func TestLabPoolSourcesISCSIDirectKeepsLibvirtdUp(t *testing.T) {
	env := lab.Need(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	code, out, errb := pdRun(t, "pool", "sources", "--uri", env.URI, "--type", "iscsi-direct", "--portal", env.ISCSIPortal, "--json")
	if code == 0 {
		if !strings.Contains(out, env.ISCSITarget) {
			t.Errorf("discovery succeeded without the lab's target: %s", out)
		}
	} else if !strings.Contains(errb, "iscsiadm") {
		t.Errorf("discovery failed without naming the missing initiator: %q", errb)
	}
	if _, err := virsh(t, env.URI, "version"); err != nil {
		t.Fatalf("libvirtd is down after the discovery: %v", err)
	}
	code, out, errb = pdRun(t, "pool", "sources", "--uri", env.URI, "--type", "devices", "--json")
	if code != 0 || !strings.Contains(out, `"devices"`) {
		t.Errorf("devices: exit %d %s %s", code, out, errb)
	}
}

// A dir pool and an rbd pool through the CLI: started, JSON on stdout,
// the cephx key nowhere in the output or the audit log.
func TestLabPoolDefineDirAndRBD(t *testing.T) {
	env := lab.Need(t)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	stamp := time.Now().UnixNano() % 1e9
	dirName, rbdName := fmt.Sprintf("t-pd-cdir-%d", stamp), fmt.Sprintf("t-pd-crbd-%d", stamp)
	target := filepath.Join(env.Dir, dirName)
	t.Cleanup(func() {
		for _, n := range []string{dirName, rbdName} {
			virsh(t, env.URI, "pool-destroy", n)
			virsh(t, env.URI, "pool-undefine", n)
		}
		if out, err := virsh(t, env.URI, "secret-list"); err == nil {
			for _, l := range strings.Split(out, "\n") {
				if strings.HasSuffix(strings.TrimSpace(l), "stowage "+rbdName) {
					virsh(t, env.URI, "secret-undefine", strings.Fields(l)[0])
				}
			}
		}
		os.RemoveAll(target)
	})
	code, out, errb := pdRun(t, "pool", "define", "--uri", env.URI, "--type", "dir", "--name", dirName, "--target", target, "--autostart", "--json")
	if code != 0 || !strings.Contains(out, `"started": true`) || !strings.Contains(errb, "✓ mark autostart") {
		t.Fatalf("dir: exit %d\n%s\n%s", code, out, errb)
	}
	if info, _ := virsh(t, env.URI, "pool-info", dirName); !strings.Contains(info, "running") {
		t.Errorf("dir pool not running: %s", info)
	}
	key, err := readCephxKey(env.CephKeyring, env.CephUser)
	if err != nil {
		t.Fatal(err)
	}
	sec := lab.NewSecret("cephx key", key)
	code, out, errb = pdRun(t, "pool", "define", "--uri", env.URI, "--type", "rbd", "--name", rbdName, "--monitor", "127.0.0.1:6789",
		"--ceph-pool", env.CephPool, "--ceph-user", env.CephUser, "--ceph-keyring", env.CephKeyring, "--json")
	sec.AssertAbsent(t, "stdout", []byte(out))
	sec.AssertAbsent(t, "stderr", []byte(errb))
	if code != 0 {
		t.Fatalf("rbd: exit %d\n%s\n%s", code, out, errb)
	}
	b, _ := os.ReadFile(filepath.Join(state, "stowage", "audit.jsonl"))
	sec.AssertAbsent(t, "the audit log", b)
	if vols, err := virsh(t, env.URI, "pool-info", rbdName); err != nil || !strings.Contains(vols, "running") {
		t.Errorf("rbd pool: %v %s", err, vols)
	}
}

// iscsi-direct with CHAP through the CLI: the secret comes from the lab's
// 0600 file, the pool starts on the lab's CHAP target, and the secret is
// in none of stdout, stderr or the audit log.
func TestLabPoolDefineISCSIDirectCHAP(t *testing.T) {
	env := lab.Need(t)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	kv := map[string]string{}
	b, err := os.ReadFile(filepath.Join(env.Scripts, "env"))
	if err != nil {
		lab.Unavailable(t, "lab/env: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			kv[k] = v
		}
	}
	raw, err := os.ReadFile(kv["STOWAGE_LAB_ISCSI_CHAP_FILE"])
	if err != nil || kv["STOWAGE_LAB_ISCSI_SAN3"] == "" {
		lab.Unavailable(t, "the lab's CHAP target: %v", err)
	}
	sec := lab.NewSecret("CHAP secret", []byte(strings.TrimRight(string(raw), "\r\n")))
	name := fmt.Sprintf("t-pd-cchap-%d", time.Now().UnixNano()%1e9)
	t.Cleanup(func() {
		virsh(t, env.URI, "pool-destroy", name)
		virsh(t, env.URI, "pool-undefine", name)
		if out, err := virsh(t, env.URI, "secret-list"); err == nil {
			for _, l := range strings.Split(out, "\n") {
				if strings.HasSuffix(strings.TrimSpace(l), "stowage-chap-"+name) {
					virsh(t, env.URI, "secret-undefine", strings.Fields(l)[0])
				}
			}
		}
	})
	code, out, errb := pdRun(t, "pool", "define", "--uri", env.URI, "--type", "iscsi-direct", "--name", name,
		"--portal", env.ISCSIPortal, "--iqn", kv["STOWAGE_LAB_ISCSI_SAN3"], "--initiator", env.ISCSIInitiator,
		"--chap-user", kv["STOWAGE_LAB_ISCSI_CHAP_USER"], "--chap-secret-file", kv["STOWAGE_LAB_ISCSI_CHAP_FILE"], "--json")
	sec.AssertAbsent(t, "stdout", []byte(out))
	sec.AssertAbsent(t, "stderr", []byte(errb))
	audit, _ := os.ReadFile(filepath.Join(state, "stowage", "audit.jsonl"))
	sec.AssertAbsent(t, "the audit log", audit)
	if code != 0 || !strings.Contains(errb, "✓ define the CHAP secret (private)") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errb)
	}
	if vols, err := virsh(t, env.URI, "vol-list", name); err != nil || !strings.Contains(vols, "unit:0:0:") {
		t.Errorf("the CHAP pool lists no LUN: %v\n%s", err, vols)
	}
}
