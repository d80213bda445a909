package lab

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"
)

// EventWatch records libvirt's lifecycle events for domains (and their
// devices), pools and secrets, from virsh processes of its own, for the
// time between its start and Stop. Both ends are synchronised by a marker
// domain, pool and secret defined and undefined: once virsh prints the
// marker's Undefined, the watch was registered (at the start), or every
// earlier event has been printed (at the end, libvirt sends a
// connection's events in order).
type EventWatch struct {
	t      *testing.T
	uri    string
	procs  []*exec.Cmd
	mu     sync.Mutex
	lines  []string
	notify chan struct{}
	waited sync.WaitGroup
}

// WatchEvents starts watching uri; the watch ends with the test (or Stop).
func WatchEvents(t *testing.T, uri string) *EventWatch {
	t.Helper()
	w := &EventWatch{t: t, uri: uri, notify: make(chan struct{}, 1)}
	for _, args := range [][]string{
		{"event", "--all", "--loop"},
		{"pool-event", "--event", "lifecycle", "--loop"},
		{"secret-event", "--event", "lifecycle", "--loop"},
	} {
		cmd := exec.Command("virsh", append([]string{"-c", uri}, args...)...)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatalf("virsh %s: %v", args[0], err)
		}
		w.procs = append(w.procs, cmd)
		w.waited.Add(1)
		go func() {
			defer w.waited.Done()
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				w.mu.Lock()
				w.lines = append(w.lines, sc.Text())
				w.mu.Unlock()
				select {
				case w.notify <- struct{}{}:
				default:
				}
			}
		}()
	}
	t.Cleanup(w.kill)
	w.marker("start")
	return w
}

// kill ends the virsh processes this watch started (by their own PIDs).
func (w *EventWatch) kill() {
	for _, c := range w.procs {
		if c.ProcessState == nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	w.waited.Wait()
}

// Stop flushes the events up to now (a marker), then ends the watch.
func (w *EventWatch) Stop() {
	w.t.Helper()
	w.marker("end")
	w.kill()
}

// marker defines and undefines a domain, a pool and a secret of its own,
// and waits for virsh to print each Undefined.
func (w *EventWatch) marker(what string) {
	t := w.t
	t.Helper()
	name := fmt.Sprintf("t-browse-marker-%s-%d", what, time.Now().UnixNano())
	dir := t.TempDir()
	domXML, _ := (&libvirtxml.Domain{Type: "qemu", Name: name, Memory: &libvirtxml.DomainMemory{Value: 32, Unit: "MiB"},
		OS: &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"}}}).Marshal()
	secXML, _ := (&libvirtxml.Secret{Ephemeral: "no", Private: "no",
		Usage: &libvirtxml.SecretUsage{Type: "volume", Volume: "/nonexistent/" + name}}).Marshal()
	df, sf := filepath.Join(dir, "dom.xml"), filepath.Join(dir, "secret.xml")
	if os.WriteFile(df, []byte(domXML), 0o600) != nil || os.WriteFile(sf, []byte(secXML), 0o600) != nil {
		t.Fatal("cannot write the marker XML")
	}
	mustVirsh(t, w.uri, "define", df)
	mustVirsh(t, w.uri, "undefine", name)
	mustVirsh(t, w.uri, "pool-define-as", name, "dir", "--target", dir)
	mustVirsh(t, w.uri, "pool-undefine", name)
	// Not quiet (-q): the UUID is in the message it would drop.
	b, err := exec.Command("virsh", "-c", w.uri, "secret-define", sf).Output()
	out := strings.Fields(string(b))
	if err != nil || len(out) < 2 {
		t.Fatalf("secret-define: %q %v", b, err)
	}
	mustVirsh(t, w.uri, "secret-undefine", out[1])
	w.waitFor(fmt.Sprintf("for domain '%s': Undefined", name), fmt.Sprintf("for storage pool %s: Undefined", name),
		fmt.Sprintf("for secret %s: Undefined", out[1]))
}

// waitFor returns when every line has been printed. The deadline only
// bounds a failure: libvirt delivers an event in milliseconds.
func (w *EventWatch) waitFor(want ...string) {
	w.t.Helper()
	deadline := time.After(time.Minute)
	for {
		w.mu.Lock()
		missing := ""
		for _, s := range want {
			if !slices.ContainsFunc(w.lines, func(l string) bool { return strings.Contains(l, s) }) {
				missing = s
			}
		}
		w.mu.Unlock()
		if missing == "" {
			return
		}
		select {
		case <-w.notify:
		case <-deadline:
			w.t.Fatalf("libvirt's event %q never came: the event watch is not working", missing)
		}
	}
}

// Saw returns the events that name an object (" for domain 'vm'", "for
// storage pool p:", "for secret uuid:").
func (w *EventWatch) Saw(sub string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, l := range w.lines {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

func mustVirsh(t *testing.T, uri string, args ...string) {
	t.Helper()
	var errb bytes.Buffer
	cmd := exec.Command("virsh", append([]string{"-q", "-c", uri}, args...)...)
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("virsh %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
}
