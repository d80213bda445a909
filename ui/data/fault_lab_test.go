package data

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"stowage/lab"
	"stowage/libvirtx"
)

// privateLibvirtd starts a libvirtd of the test's own: a session daemon
// running as nobody with every directory under a temp dir, so stopping it
// never touches the lab's libvirtd. It is killed by its PID in Cleanup.
func privateLibvirtd(t *testing.T) (pid int, sock string) {
	t.Helper()
	lab.Need(t)
	if os.Getuid() != 0 {
		t.Skip("needs root to run a private libvirtd as nobody")
	}
	dir, err := os.MkdirTemp("", "t-browse-libvirtd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"", "run", "cfg", "home"} {
		p := filepath.Join(dir, d)
		_ = os.MkdirAll(p, 0o777)
		_ = os.Chmod(p, 0o777)
	}
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "libvirtd")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Join(dir, "home"),
		"XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "cfg"),
		"XDG_CACHE_HOME=" + filepath.Join(dir, "home")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start libvirtd: %v", err)
	}
	pid = cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(pid, syscall.SIGCONT)
		_ = syscall.Kill(pid, syscall.SIGTERM)
		_ = cmd.Wait()
	})
	sock = filepath.Join(dir, "run", "libvirt", "libvirt-sock")
	// Wait for the socket by dialing, bounded.
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := libvirtx.Dial(context.Background(), "test:///default?socket="+sock, libvirtx.Options{Timeout: time.Second})
		if err == nil {
			c.Close()
			return pid, sock
		}
		if time.Now().After(deadline) {
			t.Fatalf("private libvirtd never answered: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// refresh runs one refresh of host 0 to its end, as the runtime would.
func refresh(t *testing.T, s *Store) DoneMsg {
	t.Helper()
	cmd := s.Refresh(0, false)
	for cmd != nil {
		msg := cmd()
		if d, ok := msg.(DoneMsg); ok {
			s.Update(d)
			return d
		}
		var next tea.Cmd
		_, next = s.Update(msg)
		cmd = next
	}
	t.Fatal("refresh ended without DoneMsg")
	return DoneMsg{}
}

// TestLibvirtdStopsAnswering: SIGSTOP the private libvirtd mid-session;
// a refresh returns within the timeout with the host degraded or
// disconnected (never a hang), and after SIGCONT the host recovers.
func TestLibvirtdStopsAnswering(t *testing.T) {
	pid, sock := privateLibvirtd(t)
	b := NewLibvirt([]string{"test:///default?socket=" + sock}, libvirtx.Options{Timeout: 700 * time.Millisecond},
		libvirtx.Backoff{Min: time.Nanosecond, Max: time.Nanosecond})
	defer b.Close()
	s := NewStore(b, 700*time.Millisecond)

	if d := refresh(t, s); d.Err != nil || s.Hosts[0].Status.State != libvirtx.StateConnected || len(s.Hosts[0].Info.Pools) == 0 {
		t.Fatalf("first refresh: %v, state %s, %d pools", d.Err, s.Hosts[0].Status.State, len(s.Hosts[0].Info.Pools))
	}
	pools := len(s.Hosts[0].Info.Pools)

	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	d := refresh(t, s)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("refresh against a stopped libvirtd took %s", took)
	}
	st := s.Hosts[0].Status.State
	if d.Err == nil || (st != libvirtx.StateDegraded && st != libvirtx.StateDisconnected) {
		t.Fatalf("stopped libvirtd: err %v, state %s; want degraded or disconnected", d.Err, st)
	}
	if len(s.Hosts[0].Info.Pools) != pools {
		t.Error("the last known pools were dropped while the host was unreachable")
	}
	// While stopped, the next refresh fails fast too: a dial times out.
	if d := refresh(t, s); d.Err == nil || s.Hosts[0].Status.State != libvirtx.StateDisconnected {
		t.Errorf("second refresh while stopped: %v, %s", d.Err, s.Hosts[0].Status.State)
	}

	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	var last error
	for i := 0; i < 20; i++ {
		d := refresh(t, s)
		if d.Err == nil && s.Hosts[0].Status.State == libvirtx.StateConnected {
			return
		}
		last = d.Err
	}
	t.Fatalf("host did not recover after SIGCONT: %v, state %s", last, s.Hosts[0].Status.State)
}
