package libvirtx_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
)

// hangGuard only turns a hang into a failure; no test relies on it passing.
const hangGuard = 2 * time.Minute

// returns runs f and fails the test if it has not returned after hangGuard
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

// pending starts f and returns once held is closed (the call f makes is
// pending on the wire), with the channel f's error arrives on; it fails the
// test if f returns first.
func pending(t *testing.T, what string, held <-chan struct{}, f func() error) <-chan error {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- f() }()
	select {
	case <-held:
		return errc
	case err := <-errc:
		t.Fatalf("%s returned before its call was pending: %v", what, err)
	case <-time.After(hangGuard):
		t.Fatalf("%s never sent the call it was to be held at", what)
	}
	panic("unreachable")
}

// outcome waits for the error on errc; hangGuard only turns a hang into a
// failure.
func outcome(t *testing.T, what string, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(hangGuard):
		t.Fatalf("%s did not return within %s", what, hangGuard)
	}
	panic("unreachable")
}

// An owned connection whose socket a timeout cut redials on its next call,
// once the daemon answers again: that is what lets a rollback run after the
// step that timed out. Both cuts are exercised, each on a call that is
// certainly pending (a proxy holds it, see holdProxy), the daemon stopped
// (SIGSTOP) for the redial in between:
//   - the pool lookup inside CreateVolumeWatched, cut by the per-call
//     timeout (Conn.do);
//   - the create itself, the pool already looked up, cut by the create's own
//     bound (CreateWatch.Within).
//
// The call right after a cut used to find go-libvirt still "connected" (it
// notes the drop on a goroutine of its own, after releasing the pending
// call) and failed with EINVAL instead of redialing, again and again until
// that goroutine ran. A timed-out create also used to send Disconnect, an
// RPC the stopped daemon never answers, and hang there.
func TestLabOwnedConnCutsAndRedials(t *testing.T) {
	const timeout, within = 3 * time.Second, 2 * time.Second
	for _, tc := range []struct {
		name string
		// holdAt is the call left unanswered; freezeFirst stops the
		// daemon before CreateVolumeWatched (else once the call is held).
		holdAt      uint32
		freezeFirst bool
		// cut names the call the cut ended and the bound that fired.
		cut   string
		bound time.Duration
	}{
		{name: "lookup cut by the per-call timeout", holdAt: procStoragePoolLookupByName, freezeFirst: true,
			cut: `look up pool "t-owned"`, bound: timeout},
		{name: "create cut by its own bound", holdAt: procStorageVolCreateXML,
			cut: "create volume t-owned/t-owned-v1", bound: within},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := lab.StartLibvirtd(t)
			ctx := context.Background()
			virshOn(t, d.URI(), "pool-define-as", "t-owned", "dir", "--target", d.PoolDir())
			virshOn(t, d.URI(), "pool-start", "t-owned")
			p := newHoldProxy(t, d.Sock)
			c, err := libvirtx.DialOwned(ctx, p.URI(), libvirtx.Options{Timeout: timeout})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Pool(ctx, "t-owned"); err != nil {
				t.Fatal(err)
			}

			if tc.freezeFirst {
				d.Freeze()
			}
			p.HoldAt(tc.holdAt)
			errc := pending(t, "CreateVolumeWatched", p.Held, func() error {
				_, err := c.CreateVolumeWatched(ctx, "t-owned", model.VolumeSpec{Name: "t-owned-v1", Capacity: 1 << 20, Format: "raw"}, nil,
					model.CreateWatch{Within: within})
				return err
			})
			if !tc.freezeFirst {
				d.Freeze()
			}
			err = outcome(t, "CreateVolumeWatched on a stopped libvirtd", errc)
			if !errors.Is(err, libvirtx.ErrTimeout) || !strings.HasPrefix(err.Error(), tc.cut+" on ") ||
				!strings.Contains(err.Error(), "waited "+tc.bound.String()) {
				t.Fatalf("create on a stopped libvirtd: %v; want ErrTimeout from %s, waited %s", err, tc.cut, tc.bound)
			}
			select {
			case <-c.Disconnected():
			default:
				t.Error("the timed-out call left the socket open, or Disconnected did not say so")
			}

			// While the daemon is stopped the redial itself meets the
			// deadline: a redial, not a call on the dead socket.
			_, err = returns(t, "a call while stopped", func() (any, error) { return c.Pool(ctx, "t-owned") })
			if !errors.Is(err, libvirtx.ErrTimeout) || !strings.Contains(err.Error(), "redial") || errors.Is(err, syscall.EINVAL) {
				t.Errorf("a call while stopped: %v; want ErrTimeout from the redial", err)
			}

			d.Thaw()
			if _, err := returns(t, "a call after SIGCONT", func() (any, error) { return c.Pool(ctx, "t-owned") }); err != nil {
				t.Fatalf("the owned connection did not redial after SIGCONT: %v", err)
			}
			select {
			case <-c.Disconnected():
				t.Error("Disconnected is closed on the redialed connection")
			default:
			}
		})
	}
}

// A plain Dial does not redial: the console's sessions decide that
// themselves (with backoff and a state shown to the admin). A call after
// the cut fails at once, naming the lost connection and why it was lost,
// never with go-libvirt's EINVAL.
func TestLabPlainConnDoesNotRedial(t *testing.T) {
	d := lab.StartLibvirtd(t)
	ctx := context.Background()
	p := newHoldProxy(t, d.Sock)
	c, err := libvirtx.Dial(ctx, p.URI(), libvirtx.Options{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d.Freeze()
	p.HoldAt(procConnectListAllDomains)
	errc := pending(t, "DomainNames", p.Held, func() error { _, err := c.DomainNames(ctx); return err })
	if err := outcome(t, "a call while stopped", errc); !errors.Is(err, libvirtx.ErrTimeout) {
		t.Fatalf("%v; want ErrTimeout", err)
	}
	select {
	case <-c.Disconnected():
	default:
		t.Error("the timed-out call left the socket open, or Disconnected did not say so")
	}
	d.Thaw()
	_, err = returns(t, "a call after SIGCONT", func() (any, error) { return c.DomainNames(ctx) })
	switch {
	case err == nil:
		t.Fatal("a plain connection whose socket was cut answered again")
	case !errors.Is(err, libvirtx.ErrConnLost) || errors.Is(err, syscall.EINVAL) ||
		!strings.Contains(err.Error(), "list VMs on ") || !strings.Contains(err.Error(), "did not answer in time"):
		t.Fatalf("a call after the cut: %v; want ErrConnLost naming the timed-out call", err)
	case errors.Is(err, libvirtx.ErrTimeout):
		t.Fatalf("a call after the cut: %v; it was never sent, so it is no timeout of its own", err)
	}
}
