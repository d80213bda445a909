package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"stowage/connect"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/ui/data"
)

// fleetHangGuard only turns a hang into a failure; nothing waits on it.
const fleetHangGuard = 3 * time.Minute

// TestLabFleetAllHostsUp starts a small fleet of its own (lab/fleet: five
// sshds, named in an ssh_config of the fleet's HOME), loads it as the
// console does (every host's first refresh at once, results applied one
// at a time as bubbletea's loop does) and checks that every host reports
// connected with the fixture's pools listed, and that the store's
// "all hosts answered" report counts all five up and none down. Each host
// opens the test driver on the fleet's copy of testdata/host.xml inside
// the lab's libvirtd (test+ssh), so what other tests left in the lab's
// own pools (10,000-volume benchmarks) does not weigh on it.
func TestLabFleetAllHostsUp(t *testing.T) {
	env := lab.Need(t)
	const n = 5
	name := fmt.Sprintf("fleet-t%d", os.Getpid())
	fleet := func(args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(env.Scripts, "fleet"), args...)
		cmd.Env = append(os.Environ(), "STOWAGE_FLEET="+name, "STOWAGE_FLEET_PORT_BASE=24600")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("lab/fleet %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	fleet("up", fmt.Sprint(n))
	t.Cleanup(func() { fleet("down") })
	// The fleet's HOME holds its ssh_config; no agent, so only its key.
	t.Setenv("HOME", filepath.Join(env.Dir, name, "home"))
	t.Setenv("SSH_AUTH_SOCK", "")

	var uris []string
	for i := 1; i <= n; i++ {
		uris = append(uris, fmt.Sprintf("test+ssh://%s-%03d%s", name, i, filepath.Join(env.Dir, name, "host.xml")))
	}
	hosts := connect.New(uris, libvirtx.Options{SSHConfig: libvirtx.NewSSHConfigCache()}, libvirtx.DefaultBackoff)
	t.Cleanup(hosts.Close)
	store := data.NewStore(hosts, libvirtx.DefaultTimeout)
	loaded := make(chan data.FirstLoad, 1)
	store.OnFirstLoad = func(f data.FirstLoad) { loaded <- f }

	msgs := make(chan tea.Msg, 256)
	run := func(cmd tea.Cmd) {
		if cmd != nil {
			go func() { msgs <- cmd() }()
		}
	}
	for i := range uris {
		run(store.Refresh(i, false))
	}
	for done := 0; done < n; {
		var msg tea.Msg
		select {
		case msg = <-msgs:
		case <-time.After(fleetHangGuard):
			t.Fatalf("%d of %d hosts finished their first refresh within %s", done, n, fleetHangGuard)
		}
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				run(c)
			}
			continue
		}
		_, next := store.Update(msg)
		if _, ok := msg.(data.DoneMsg); ok {
			done++
		}
		run(next) // the stream's next part, or (after the last) the report
	}
	// The report comes from a Cmd the last DoneMsg returned; domain event
	// subscriptions from the others stay pending until hosts.Close.
	var f data.FirstLoad
	for got := false; !got; {
		select {
		case f = <-loaded:
			got = true
		case msg := <-msgs:
			if b, ok := msg.(tea.BatchMsg); ok {
				for _, c := range b {
					run(c)
				}
			}
		case <-time.After(fleetHangGuard):
			t.Fatal("the store never reported that all hosts answered")
		}
	}
	if f.Hosts != n || f.Connected != n {
		t.Errorf("all hosts answered: %d hosts, %d connected; want %d and %d", f.Hosts, f.Connected, n, n)
	}
	for i, h := range store.Hosts {
		if h.Err != nil || h.Status.State != model.StateConnected {
			t.Errorf("%s: state %v, error %v; want connected", uris[i], h.Status.State, h.Err)
		}
		var pools []string
		for _, p := range h.Info.Pools {
			pools = append(pools, p.Name)
		}
		// testdata/host.xml's dir pool, and as many pools as every other host.
		if !slices.Contains(pools, "images") || len(pools) != len(store.Hosts[0].Info.Pools) {
			t.Errorf("%s lists pools %v; want the fixture's, images among them, like every host", uris[i], pools)
		}
	}
}
