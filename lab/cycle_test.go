package lab

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLabDownLeavesNothing runs lab/down on the running lab, checks that no
// process the lab started survives (daemons by their recorded PIDs, and
// anything whose command line points into the lab directory, like the VM's
// QEMU), then runs lab/up again so the lab is back for the next `make test`.
// It stops the lab under every other test, so it runs only when asked
// (STOWAGE_LAB_CYCLE=1, which `make test` sets for a step of its own).
func TestLabDownLeavesNothing(t *testing.T) {
	if os.Getenv("STOWAGE_LAB_CYCLE") != "1" {
		t.Skip("stops and restarts the lab; `make test` runs it as its own step (STOWAGE_LAB_CYCLE=1)")
	}
	env := Need(t)
	pids := recordedPIDs(t, env.Dir)
	if len(pids) == 0 {
		t.Fatalf("no PIDs recorded under %s/pids: did lab/up start anything?", env.Dir)
	}
	vmPID := readPID(filepath.Join("/run/libvirt/qemu", env.VM+".pid"))
	run(t, filepath.Join(env.Scripts, "down"))

	for name, pid := range pids {
		if alive(pid) {
			t.Errorf("%s (pid %d) still running after lab/down", name, pid)
		}
	}
	if vmPID > 0 && alive(vmPID) {
		t.Errorf("QEMU of %s (pid %d) still running after lab/down", env.VM, vmPID)
	}
	for _, p := range processesMentioning(t, env.Dir) {
		t.Errorf("process still refers to the lab directory after lab/down: %s", p)
	}
	if _, err := os.Stat(filepath.Join(env.Scripts, "env")); !os.IsNotExist(err) {
		t.Errorf("lab/env still exists after lab/down (%v)", err)
	}
	if out, err := exec.Command(filepath.Join(env.Scripts, "status")).CombinedOutput(); err == nil {
		t.Errorf("lab/status says all is up after lab/down:\n%s", out)
	}

	run(t, filepath.Join(env.Scripts, "up"))
	if out, err := exec.Command(filepath.Join(env.Scripts, "status")).CombinedOutput(); err != nil {
		t.Fatalf("lab/status after lab/up: %v\n%s", err, out)
	}
}

func run(t *testing.T, script string) {
	t.Helper()
	out, err := exec.Command(script).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	t.Logf("%s:\n%s", script, out)
}

func recordedPIDs(t *testing.T, dir string) map[string]int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "pids", "*.pid"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, f := range files {
		if pid := readPID(f); pid > 0 {
			out[strings.TrimSuffix(filepath.Base(f), ".pid")] = pid
		}
	}
	return out
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// alive is true for a process that exists and is not a zombie (a zombie
// has exited; only its parent has not collected it yet).
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// /proc/PID/stat: "pid (comm) S ...": the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}

func processesMentioning(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || !alive(pid) {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmd, []byte(dir)) {
			continue
		}
		out = append(out, e.Name()+": "+strings.ReplaceAll(string(bytes.TrimRight(cmd, "\x00")), "\x00", " "))
	}
	return out
}
