package libvirtx_test

import (
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"

	"stowage/lab"
	"stowage/libvirtx"
)

// hangGuard only turns a hang into a failure; no test relies on it passing.
const hangGuard = 2 * time.Minute

// within runs f and fails the test if it has not returned after hangGuard
// (a call waiting on an RPC that a stopped daemon never answers).
func returns[T any](t *testing.T, what string, f func() (T, error)) (T, error) {
	t.Helper()
	type res struct {
		v   T
		err error
	}
	ch := make(chan res, 1)
	go func() { v, err := f(); ch <- res{v, err} }()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-time.After(hangGuard):
		t.Fatalf("%s did not return within %s", what, hangGuard)
	}
	panic("unreachable")
}

func virshOn(t *testing.T, uri string, args ...string) string {
	t.Helper()
	out, err := exec.Command("virsh", append([]string{"-q", "-c", uri}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("virsh %v: %v: %s", args, err, out)
	}
	return string(out)
}

// A volume creation on a libvirtd that stopped answering (SIGSTOP of a
// private daemon): the attempt's own bound ends it with ErrTimeout by
// cutting the socket. It used to send Disconnect, an RPC the stopped daemon
// never answers, and hang there. The owned connection then redials on its
// next call once the daemon runs again, which is what a rollback needs.
func TestLabOwnedConnCutsAndRedials(t *testing.T) {
	d := lab.StartLibvirtd(t)
	ctx := context.Background()
	virshOn(t, d.URI(), "pool-define-as", "t-owned", "dir", "--target", d.PoolDir())
	virshOn(t, d.URI(), "pool-start", "t-owned")
	c, err := libvirtx.DialOwned(ctx, d.URI(), libvirtx.Options{Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Pool(ctx, "t-owned"); err != nil {
		t.Fatal(err)
	}

	d.Freeze()
	const bound = 2 * time.Second
	start := time.Now()
	_, err = returns(t, "CreateVolumeWatched on a stopped libvirtd", func() (any, error) {
		return c.CreateVolumeWatched(ctx, "t-owned", libvirtx.VolumeSpec{Name: "t-owned-v1", Capacity: 1 << 20, Format: "raw"}, nil,
			libvirtx.CreateWatch{Within: bound})
	})
	if !errors.Is(err, libvirtx.ErrTimeout) {
		t.Fatalf("create on a stopped libvirtd: %v; want ErrTimeout", err)
	}
	if el := time.Since(start); el > 3*bound {
		t.Errorf("the create returned after %s; its bound is %s", el, bound)
	}
	select {
	case <-c.Disconnected():
	default:
		t.Error("the timed-out create left the socket open")
	}
	// While the daemon is stopped the redial itself meets the deadline.
	if _, err := returns(t, "a call while stopped", func() (any, error) { return c.Pool(ctx, "t-owned") }); !errors.Is(err, libvirtx.ErrTimeout) {
		t.Errorf("a call while stopped: %v; want ErrTimeout", err)
	}

	d.Thaw()
	if _, err := returns(t, "a call after SIGCONT", func() (any, error) { return c.Pool(ctx, "t-owned") }); err != nil {
		t.Fatalf("the owned connection did not redial after SIGCONT: %v", err)
	}
}

// A plain Dial does not redial: the console's sessions decide that
// themselves (with backoff and a state shown to the admin).
func TestLabPlainConnDoesNotRedial(t *testing.T) {
	d := lab.StartLibvirtd(t)
	ctx := context.Background()
	c, err := libvirtx.Dial(ctx, d.URI(), libvirtx.Options{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d.Freeze()
	if _, err := returns(t, "a call while stopped", func() (any, error) { return c.DomainNames(ctx) }); !errors.Is(err, libvirtx.ErrTimeout) {
		t.Fatalf("%v; want ErrTimeout", err)
	}
	d.Thaw()
	if _, err := returns(t, "a call after SIGCONT", func() (any, error) { return c.DomainNames(ctx) }); err == nil {
		t.Fatal("a plain connection whose socket was cut answered again")
	}
}
