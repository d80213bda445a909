package lab

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// Libvirtd is a libvirtd of one test's own: a session daemon running as
// user nobody with every directory under a temp dir, so that stopping
// (SIGSTOP), killing or restarting it never touches the lab's libvirtd. It
// is only ever signalled by the PID the test started, and stopped in
// Cleanup.
//
// The test makes the listening socket and hands it to libvirtd (systemd's
// socket activation, which libvirtd honours): the socket accepts before
// the daemon runs, so a dial simply waits for the daemon's first answer,
// and nothing polls for the daemon to come up.
type Libvirtd struct {
	Dir  string
	Sock string
	t    testing.TB
	cmd  *exec.Cmd
}

// StartLibvirtd starts a private daemon (root is needed to run it as
// nobody; without root the test ends through Unavailable).
func StartLibvirtd(t testing.TB) *Libvirtd {
	t.Helper()
	Need(t)
	if os.Getuid() != 0 {
		Unavailable(t, "needs root to run a private libvirtd as nobody")
	}
	dir, err := os.MkdirTemp("", "t-libvirtd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"", "run", "run/libvirt", "cfg", "home", "pool"} {
		p := filepath.Join(dir, d)
		if err := os.MkdirAll(p, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	d := &Libvirtd{t: t, Dir: dir, Sock: filepath.Join(dir, "run", "libvirt", "libvirt-sock")}
	t.Cleanup(d.Stop)
	d.Start()
	return d
}

// URI opens the daemon's qemu session driver through its socket.
func (d *Libvirtd) URI() string { return "qemu:///session?socket=" + d.Sock }

// PoolDir is a directory the daemon can use for a dir pool.
func (d *Libvirtd) PoolDir() string { return filepath.Join(d.Dir, "pool") }

// Start runs the daemon on a fresh listening socket (again after Kill).
func (d *Libvirtd) Start() {
	t := d.t
	t.Helper()
	_ = os.Remove(d.Sock) // a killed daemon's socket file
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: d.Sock, Net: "unix"})
	if err != nil {
		t.Fatalf("listen on %s: %v", d.Sock, err)
	}
	ln.SetUnlinkOnClose(false)
	f, err := ln.File()
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// LISTEN_PID must be libvirtd's PID: the shell's, which exec keeps.
	cmd := exec.Command("sh", "-c", `LISTEN_PID=$$ exec setpriv --reuid=65534 --regid=65534 --clear-groups libvirtd`)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Join(d.Dir, "home"),
		"XDG_RUNTIME_DIR=" + filepath.Join(d.Dir, "run"), "XDG_CONFIG_HOME=" + filepath.Join(d.Dir, "cfg"),
		"XDG_CACHE_HOME=" + filepath.Join(d.Dir, "home"), "LISTEN_FDS=1", "LISTEN_FDNAMES=libvirtd.socket"}
	cmd.ExtraFiles = []*os.File{f} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start libvirtd: %v", err)
	}
	d.cmd = cmd
}

// PID is the daemon's process id.
func (d *Libvirtd) PID() int { return d.cmd.Process.Pid }

// Freeze stops the daemon (SIGSTOP): its socket still accepts, nothing
// answers. Thaw (SIGCONT) lets it go on.
func (d *Libvirtd) Freeze() {
	if err := syscall.Kill(d.PID(), syscall.SIGSTOP); err != nil {
		d.t.Fatal(err)
	}
}

// Thaw resumes a frozen daemon.
func (d *Libvirtd) Thaw() {
	if err := syscall.Kill(d.PID(), syscall.SIGCONT); err != nil {
		d.t.Fatal(err)
	}
}

// Kill ends the daemon at once (SIGKILL by its PID), as a crash or a
// restart by the init system would, and reaps it; Start runs it again.
func (d *Libvirtd) Kill() {
	if d.cmd == nil {
		return
	}
	_ = syscall.Kill(d.PID(), syscall.SIGKILL)
	_ = d.cmd.Wait()
	d.cmd = nil
}

// Stop ends the daemon (thawed first) and reaps it; safe to call twice.
func (d *Libvirtd) Stop() {
	if d.cmd == nil {
		return
	}
	_ = syscall.Kill(d.PID(), syscall.SIGCONT)
	_ = syscall.Kill(d.PID(), syscall.SIGTERM)
	_ = d.cmd.Wait()
	d.cmd = nil
}
