package cli

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"stowage/connect"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/ui/data"
	"stowage/ui/firstrun"
)

// TestPermissionDeniedSocket dials a libvirt socket the user may not open
// (mode 000, dialed as nobody in a child process, so connect(2) really
// fails with EACCES): `stowage inventory` exits 1 naming the cause, and the
// console's first-run screen gives the group/sudo/--readonly advice.
func TestPermissionDeniedSocket(t *testing.T) {
	if sock := os.Getenv("STOWAGE_T_EACCES_SOCK"); sock != "" {
		permissionDeniedChild(sock)
		return
	}
	lab.Need(t)
	if os.Getuid() != 0 {
		lab.Unavailable(t, "needs root to run the dial as nobody")
	}
	dir, err := os.MkdirTemp("", "t-browse-eacces-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "libvirt-sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := os.Chmod(sock, 0); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPermissionDeniedSocket$", "-test.count=1")
	cmd.Env = append(os.Environ(), "STOWAGE_T_EACCES_SOCK="+sock)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, want := range []string{"inventory rc=1", "permission denied on " + sock, "usermod -aG libvirt",
		"advice: permission denied: add yourself to the libvirt group"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("child output lacks %q:\n%s", want, out)
		}
	}
}

// permissionDeniedChild drops to nobody, then dials as inventory and as
// the console would, printing what each says.
func permissionDeniedChild(sock string) {
	if err := syscall.Setgroups(nil); err != nil {
		fmt.Println("setgroups:", err)
		os.Exit(2)
	}
	if err := syscall.Setgid(65534); err != nil {
		fmt.Println("setgid:", err)
		os.Exit(2)
	}
	if err := syscall.Setuid(65534); err != nil {
		fmt.Println("setuid:", err)
		os.Exit(2)
	}
	uri := "qemu:///system?socket=" + sock
	var stdout, stderr strings.Builder
	rc := cmdInventory([]string{"--uri", uri, "--timeout", "3s"}, &stdout, &stderr)
	fmt.Printf("inventory rc=%d\n%s", rc, stderr.String())

	b := connect.New([]string{uri}, libvirtx.Options{Timeout: 3 * time.Second}, libvirtx.DefaultBackoff)
	defer b.Close()
	s := data.NewStore(b, 3*time.Second)
	cmd := s.Refresh(0, false)
	for cmd != nil {
		msg := cmd()
		_, next := s.Update(msg)
		if _, ok := msg.(data.DoneMsg); ok {
			break
		}
		cmd = next
	}
	fmt.Println("advice: " + firstrun.Advice(s.Hosts[0]))
}
