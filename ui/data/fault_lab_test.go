package data

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"stowage/connect"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
)

// daemon is the test's own libvirtd (lab.Libvirtd: a session daemon as
// nobody, socket-activated, signalled only by its PID), answering through
// the test driver.
type daemon struct {
	*lab.Libvirtd
	t *testing.T
}

// hangGuard bounds each wait for an event these tests expect: it only turns
// a hang into a failure, the tests never rely on it passing.
const hangGuard = 2 * time.Minute

func newDaemon(t *testing.T) *daemon {
	t.Helper()
	d := &daemon{Libvirtd: lab.StartLibvirtd(t), t: t}
	d.answered()
	return d
}

// start runs the daemon again on a fresh listening socket and waits for
// its first answer.
func (d *daemon) start() {
	d.Start()
	d.answered()
}

func (d *daemon) answered() {
	d.t.Helper()
	c, err := libvirtx.Dial(context.Background(), "test:///default?socket="+d.Sock, libvirtx.Options{Timeout: hangGuard})
	if err != nil {
		d.t.Fatalf("private libvirtd never answered: %v", err)
	}
	c.Close()
}

func (d *daemon) pid() int { return d.PID() }

func (d *daemon) kill() { d.Kill() }

// refresh runs one refresh of host 0 to its end, as the runtime would. It
// returns when the refresh does (DoneMsg); a refresh that never ends fails
// the test after hangGuard.
func refresh(t *testing.T, s *Store) DoneMsg {
	t.Helper()
	return refreshWatching(t, s, nil)
}

// refreshWatching is refresh calling watch with every part first.
func refreshWatching(t *testing.T, s *Store, watch func(PartMsg)) DoneMsg {
	t.Helper()
	msgs := make(chan tea.Msg)
	cmd := s.Refresh(0, false)
	for {
		go func(c tea.Cmd) { msgs <- c() }(cmd)
		var msg tea.Msg
		select {
		case msg = <-msgs:
		case <-time.After(hangGuard):
			t.Fatalf("a refresh did not end within %s", hangGuard)
		}
		if pm, ok := msg.(PartMsg); ok && watch != nil {
			watch(pm)
		}
		_, next := s.Update(msg)
		if d, ok := msg.(DoneMsg); ok {
			return d
		}
		if next == nil {
			t.Fatal("refresh ended without DoneMsg")
		}
		cmd = next
	}
}

// refreshUntil refreshes host 0 until ok holds after a refresh, at most
// tries times: each refresh is the event the condition is judged on.
func refreshUntil(t *testing.T, s *Store, tries int, what string, ok func(DoneMsg) bool) {
	t.Helper()
	var last DoneMsg
	for range tries {
		if last = refresh(t, s); ok(last) {
			return
		}
	}
	t.Fatalf("%s: not after %d refreshes (last: %v, state %s)", what, tries, last.Err, s.Hosts[0].Status.State)
}

// callTimeout is the per-call deadline TestLibvirtdStopsAnswering makes
// fire. No healthy call comes near it; a healthy phase that met it anyway
// refreshes again (refreshUntil), so the test never depends on it.
const callTimeout = 3 * time.Second

// TestLibvirtdStopsAnswering: SIGSTOP the private libvirtd mid-session;
// a socket that never answers. The refresh ends with the call deadline
// (ErrTimeout: the event that the deadline fired) and the host degraded or
// disconnected, its pools kept; after SIGCONT the host recovers.
func TestLibvirtdStopsAnswering(t *testing.T) {
	d := newDaemon(t)
	b := connect.New([]string{"test:///default?socket=" + d.Sock}, libvirtx.Options{Timeout: callTimeout},
		libvirtx.Backoff{Min: time.Nanosecond, Max: time.Nanosecond})
	defer b.Close()
	s := NewStore(b, callTimeout)

	connected := func(dm DoneMsg) bool {
		return dm.Err == nil && s.Hosts[0].Status.State == model.StateConnected && len(s.Hosts[0].Info.Pools) > 0
	}
	refreshUntil(t, s, 5, "first refresh", connected)
	pools := len(s.Hosts[0].Info.Pools)

	if err := syscall.Kill(d.pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	dm := refresh(t, s)
	st := s.Hosts[0].Status.State
	if !errors.Is(dm.Err, libvirtx.ErrTimeout) || (st != model.StateDegraded && st != model.StateDisconnected) {
		t.Fatalf("stopped libvirtd: err %v, state %s; want a call deadline (ErrTimeout), degraded or disconnected", dm.Err, st)
	}
	if len(s.Hosts[0].Info.Pools) != pools {
		t.Error("the last known pools were dropped while the host was unreachable")
	}
	// While stopped, the next refresh fails too: its dial meets the deadline.
	if dm := refresh(t, s); dm.Err == nil || s.Hosts[0].Status.State != model.StateDisconnected {
		t.Errorf("second refresh while stopped: %v, %s", dm.Err, s.Hosts[0].Status.State)
	}

	if err := syscall.Kill(d.pid(), syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	refreshUntil(t, s, 20, "recovery after SIGCONT", connected)
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

func loadedVolumes(h Host) int {
	loaded := 0
	if len(h.Info.Pools) == 1 {
		for _, v := range h.Info.Pools[0].Volumes {
			if v.Loaded {
				loaded++
			}
		}
	}
	return loaded
}

// TestLibvirtdRestartsMidRefresh kills the private libvirtd while the
// volume XML of a 3,000-volume pool is being read. The calls have no
// deadline that could end them within the hang guard, so the refresh can
// only end because the dropped connection released them: it ends, and the
// host shows degraded or disconnected with the last known pools kept. Once
// a new libvirtd listens on the same socket, the next refreshes reconnect
// and read everything.
func TestLibvirtdRestartsMidRefresh(t *testing.T) {
	const n = 3000
	const noDeadline = 10 * hangGuard
	d := newDaemon(t)
	uri := "test://" + bigHost(t, d.Dir, n) + "?socket=" + d.Sock

	var s *Store
	// The kill must land while volume XML is still being read: when the
	// reads won the race and all n arrived first, restart and try again.
	for attempt := 1; ; attempt++ {
		b := connect.New([]string{uri}, libvirtx.Options{Timeout: noDeadline}, libvirtx.Backoff{Min: time.Nanosecond, Max: time.Nanosecond})
		defer b.Close()
		s = NewStore(b, noDeadline)
		killed := false
		var errsAfterKill []error
		done := refreshWatching(t, s, func(pm PartMsg) {
			for _, p := range pm.Parts() {
				if killed && p.Err != nil {
					errsAfterKill = append(errsAfterKill, p.Err)
				}
				if !killed && p.Kind == model.PartVolumeNames && p.Pool == "big" {
					if len(p.Names) != n {
						t.Fatalf("%d volume names, want %d", len(p.Names), n)
					}
					d.kill() // the 3,000 volume XML calls are in flight now
					killed = true
				}
			}
		})
		if !killed {
			t.Fatal("the refresh ended before the volume names arrived")
		}
		h := s.Hosts[0]
		if loadedVolumes(h) == n {
			if attempt == 5 {
				t.Fatal("every volume was read before the kill in 5 attempts: the kill never landed mid-refresh")
			}
			t.Logf("attempt %d: all %d volumes were read before the kill; again", attempt, n)
			d.start()
			continue
		}
		if done.Err != nil {
			errsAfterKill = append(errsAfterKill, done.Err)
		}
		if len(errsAfterKill) == 0 {
			t.Error("no part and no DoneMsg reported the lost connection")
		}
		for _, err := range errsAfterKill {
			if errors.Is(err, libvirtx.ErrTimeout) {
				t.Errorf("a call ended by its deadline, not by the dropped connection: %v", err)
			}
		}
		if st := h.Status.State; st != model.StateDegraded && st != model.StateDisconnected {
			t.Errorf("after libvirtd died: state %s (%s); want degraded or disconnected", st, h.Status.Reason)
		}
		if len(h.Info.Pools) != 1 || h.Info.Pools[0].Name != "big" {
			t.Errorf("last known pools dropped: %+v", h.Info.Pools)
		}
		break
	}

	d.start()
	refreshUntil(t, s, 20, "recovery after libvirtd restarted", func(dm DoneMsg) bool {
		return dm.Err == nil && s.Hosts[0].Status.State == model.StateConnected && loadedVolumes(s.Hosts[0]) == n
	})
}
