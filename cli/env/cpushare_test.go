package env

import (
	"runtime"
	"strconv"
	"testing"
)

func TestProcsFor(t *testing.T) {
	remote := "qemu+ssh://kvm1.example/system"
	for _, c := range []struct {
		base int
		uris []string
		want int
	}{
		{4, []string{remote}, 4},
		{4, []string{remote, "qemu:///system"}, 2},
		{4, []string{"qemu+ssh://127.0.0.1:2222/system"}, 2},
		{3, []string{"qemu:///system"}, 1},
		{1, []string{"qemu:///system"}, 1},
		{4, []string{"not a uri"}, 4},
	} {
		if got := procsFor(c.base, c.uris, false); got != c.want {
			t.Errorf("procsFor(%d, %q) = %d, want %d", c.base, c.uris, got, c.want)
		}
	}
}

func TestShareCPUKeepsTheAdminsGOMAXPROCS(t *testing.T) {
	was := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(was)
	t.Setenv("GOMAXPROCS", strconv.Itoa(was))
	runtime.GOMAXPROCS(was)
	if got := ShareCPUWithLocalDaemon([]string{"qemu:///system"}, false); got != was || runtime.GOMAXPROCS(0) != was {
		t.Errorf("GOMAXPROCS=%d set by the admin: got %d (runtime %d), want it kept", was, got, runtime.GOMAXPROCS(0))
	}
	t.Setenv("GOMAXPROCS", "")
	want := procsFor(defaultProcs, []string{"qemu:///system"}, false)
	// Halves the runtime's own choice, never the value in force: a second
	// call, or one after GOMAXPROCS was changed, gives the same answer.
	for _, inForce := range []int{8, want} {
		runtime.GOMAXPROCS(inForce)
		if got := ShareCPUWithLocalDaemon([]string{"qemu:///system"}, false); got != want || runtime.GOMAXPROCS(0) != want {
			t.Errorf("local host, %d in force: got %d (runtime %d), want %d", inForce, got, runtime.GOMAXPROCS(0), want)
		}
	}
}
