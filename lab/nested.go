package lab

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Nested is the nested hypervisor that lab/hypervisor runs, and the SAN
// targets lab/up made for it.
type Nested struct {
	Env
	// URI reaches the nested host's libvirtd over qemu+ssh.
	URI string
	// Portal is the lab's tgtd as the nested host sees it (10.0.2.2:3260).
	Portal string
	// San2 has LUNs 1..3 backed by files San2LUNFile(n); San2TID is its
	// tgtd target id. San3 requires CHAP (CHAPUser, secret in CHAPFile).
	San2, San2TID, San3 string
	CHAPUser, CHAPFile  string
}

// San2LUNFile is the backing file of LUN n of target san2.
func (n Nested) San2LUNFile(lun int) string {
	return filepath.Join(n.Dir, "luns", "san2-lun"+string(rune('0'+lun))+".img")
}

// NestedRequested reports whether nested-hypervisor tests should run
// (STOWAGE_NESTED=1, which `make test` sets).
func NestedRequested() bool { return os.Getenv("STOWAGE_NESTED") == "1" }

// NeedNested returns the nested hypervisor for a test, starting it with
// lab/hypervisor up when it is not running (a fresh cache builds the image
// first, a few minutes). Without STOWAGE_NESTED=1 the test skips; with it,
// a nested host that cannot start skips, or fails under STOWAGE_LAB=require.
func NeedNested(t testing.TB) Nested {
	t.Helper()
	if !NestedRequested() {
		t.Skip("nested-hypervisor test (LVM on iSCSI): run `make test`, or set STOWAGE_NESTED=1")
	}
	e := Need(t)
	fail := func(format string, args ...any) { t.Helper(); Unavailable(t, format, args...) }
	kv, err := readEnv(filepath.Join(e.Scripts, "env"))
	if err != nil {
		fail("%v", err)
	}
	if kv["STOWAGE_LAB_HV_URI"] == "" || !hypervisorAnswers(e.Scripts) {
		out, err := exec.Command(filepath.Join(e.Scripts, "hypervisor"), "up").CombinedOutput()
		if err != nil {
			fail("the nested hypervisor does not start (lab/hypervisor up): %v\n%s", err, out)
		}
		t.Logf("lab/hypervisor up:\n%s", out)
		if kv, err = readEnv(filepath.Join(e.Scripts, "env")); err != nil {
			fail("%v", err)
		}
	}
	n := Nested{Env: e, URI: kv["STOWAGE_LAB_HV_URI"], Portal: kv["STOWAGE_LAB_HV_PORTAL"],
		San2: kv["STOWAGE_LAB_ISCSI_SAN2"], San2TID: kv["STOWAGE_LAB_ISCSI_SAN2_TID"], San3: kv["STOWAGE_LAB_ISCSI_SAN3"],
		CHAPUser: kv["STOWAGE_LAB_ISCSI_CHAP_USER"], CHAPFile: kv["STOWAGE_LAB_ISCSI_CHAP_FILE"]}
	if n.URI == "" || n.San2 == "" || n.San3 == "" {
		fail("lab/env lacks the nested hypervisor or the san2/san3 targets: rerun lab/up and lab/hypervisor up")
	}
	return n
}

// hypervisorAnswers runs lab/hypervisor status, again while the
// hypervisor runs but its ssh does not answer within status's 10 s: on a
// loaded machine (several test runs on 2 cores, a TCG guest) that is
// slowness, not a dead host, and `up` would stop the running hypervisor
// that other tests are using, then race their own `up` for its image.
// A hypervisor that is not running at all is reported at once.
func hypervisorAnswers(scripts string) bool {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		out, err := exec.Command(filepath.Join(scripts, "hypervisor"), "status").CombinedOutput()
		if err == nil {
			return true
		}
		if !strings.Contains(string(out), "runs but") || time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Second) // a poll of an outside process, not a wait on our own work
	}
}

func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && !strings.HasPrefix(k, "#") {
			kv[k] = v
		}
	}
	return kv, sc.Err()
}
