package data

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"stowage/lab"
	"stowage/libvirtx"
)

// daemon is a libvirtd of the test's own: a session daemon running as
// nobody with every directory under a temp dir, so stopping, killing or
// restarting it never touches the lab's libvirtd. It is only ever
// signalled by the PID this test started, and killed in Cleanup.
type daemon struct {
	t    *testing.T
	dir  string
	sock string
	cmd  *exec.Cmd
}

func newDaemon(t *testing.T) *daemon {
	t.Helper()
	lab.Need(t)
	if os.Getuid() != 0 {
		lab.Unavailable(t, "needs root to run a private libvirtd as nobody")
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
	d := &daemon{t: t, dir: dir, sock: filepath.Join(dir, "run", "libvirt", "libvirt-sock")}
	t.Cleanup(d.stop)
	d.start()
	return d
}

// start runs the daemon and waits until it answers on its socket.
func (d *daemon) start() {
	t := d.t
	t.Helper()
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "libvirtd")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Join(d.dir, "home"),
		"XDG_RUNTIME_DIR=" + filepath.Join(d.dir, "run"), "XDG_CONFIG_HOME=" + filepath.Join(d.dir, "cfg"),
		"XDG_CACHE_HOME=" + filepath.Join(d.dir, "home")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start libvirtd: %v", err)
	}
	d.cmd = cmd
	// Wait for the socket by dialing, bounded.
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := libvirtx.Dial(context.Background(), "test:///default?socket="+d.sock, libvirtx.Options{Timeout: time.Second})
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("private libvirtd never answered: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

// kill ends the daemon at once (SIGKILL by its PID), as a crash or a
// restart by the init system would, and reaps it.
func (d *daemon) kill() {
	if d.cmd == nil {
		return
	}
	_ = syscall.Kill(d.pid(), syscall.SIGKILL)
	_ = d.cmd.Wait()
	d.cmd = nil
}

func (d *daemon) stop() {
	if d.cmd == nil {
		return
	}
	_ = syscall.Kill(d.pid(), syscall.SIGCONT)
	_ = syscall.Kill(d.pid(), syscall.SIGTERM)
	_ = d.cmd.Wait()
	d.cmd = nil
}

// privateLibvirtd starts a private daemon and returns its PID and socket.
func privateLibvirtd(t *testing.T) (pid int, sock string) {
	d := newDaemon(t)
	return d.pid(), d.sock
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

// bigHost writes a test-driver node file with one dir pool of n volumes,
// readable by the private daemon, and returns its path.
func bigHost(t *testing.T, dir string, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("<node><pool type='dir'><name>big</name><target><path>/big</path></target>\n")
	for i := range n {
		fmt.Fprintf(&b, "<volume type='file'><name>v%05d.raw</name><capacity unit='MiB'>1</capacity><allocation>0</allocation></volume>\n", i)
	}
	b.WriteString("</pool></node>\n")
	p := filepath.Join(dir, "big.xml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLibvirtdRestartsMidRefresh kills the private libvirtd while the
// volume XML of a 3,000-volume pool is being read: the refresh ends
// promptly (never a hang), the host shows degraded with the last known
// pools kept; once a new libvirtd listens on the same socket, the next
// refreshes reconnect and read everything.
func TestLibvirtdRestartsMidRefresh(t *testing.T) {
	const n = 3000
	d := newDaemon(t)
	uri := "test://" + bigHost(t, d.dir, n) + "?socket=" + d.sock
	b := NewLibvirt([]string{uri}, libvirtx.Options{Timeout: 5 * time.Second}, libvirtx.Backoff{Min: time.Nanosecond, Max: time.Nanosecond})
	defer b.Close()
	s := NewStore(b, 5*time.Second)

	cmd := s.Refresh(0, false)
	var killedAt time.Time
	errsAfterKill := 0
	var done DoneMsg
	for cmd != nil {
		msg := cmd()
		if pm, ok := msg.(PartMsg); ok {
			if !killedAt.IsZero() && pm.Part.Err != nil {
				errsAfterKill++
			}
			if killedAt.IsZero() && pm.Part.Kind == libvirtx.PartVolumeNames && pm.Part.Pool == "big" {
				if len(pm.Part.Names) != n {
					t.Fatalf("%d volume names, want %d", len(pm.Part.Names), n)
				}
				d.kill() // the 3,000 volume XML calls are in flight now
				killedAt = time.Now()
			}
		}
		var next tea.Cmd
		_, next = s.Update(msg)
		if dm, ok := msg.(DoneMsg); ok {
			done = dm
			break
		}
		cmd = next
	}
	if killedAt.IsZero() {
		t.Fatal("the refresh ended before the volume names arrived")
	}
	if took := time.Since(killedAt); took > 3*time.Second {
		t.Errorf("refresh took %s to end after libvirtd died", took)
	}
	h := s.Hosts[0]
	if errsAfterKill == 0 && done.Err == nil {
		t.Error("no part and no DoneMsg reported the lost connection")
	}
	if st := h.Status.State; st != libvirtx.StateDegraded && st != libvirtx.StateDisconnected {
		t.Errorf("after libvirtd died: state %s (%s); want degraded or disconnected", st, h.Status.Reason)
	}
	if len(h.Info.Pools) != 1 || h.Info.Pools[0].Name != "big" {
		t.Errorf("last known pools dropped: %+v", h.Info.Pools)
	}
	loaded := 0
	for _, v := range h.Info.Pools[0].Volumes {
		if v.Loaded {
			loaded++
		}
	}
	if loaded == n {
		t.Error("every volume was read although libvirtd died mid-refresh: the kill came too late to test anything")
	}

	d.start()
	var last error
	for range 20 {
		dm := refresh(t, s)
		h := s.Hosts[0]
		loaded := 0
		if len(h.Info.Pools) == 1 {
			for _, v := range h.Info.Pools[0].Volumes {
				if v.Loaded {
					loaded++
				}
			}
		}
		if dm.Err == nil && h.Status.State == libvirtx.StateConnected && loaded == n {
			return
		}
		last = dm.Err
	}
	t.Fatalf("no recovery after libvirtd restarted: %v, state %s", last, s.Hosts[0].Status.State)
}
