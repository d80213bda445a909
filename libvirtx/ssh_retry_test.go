package libvirtx

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"stowage/model"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeClock drives a retryPolicy without a wall clock: sleep advances it
// and records the pause.
type fakeClock struct {
	t      time.Time
	slept  []time.Duration
	jitter []float64
}

func (c *fakeClock) policy(attempts int) retryPolicy {
	return retryPolicy{
		attempts: attempts, base: 100 * time.Millisecond, max: 400 * time.Millisecond,
		jitter: func() float64 {
			j := c.jitter[0]
			c.jitter = append(c.jitter[1:], j)
			return j
		},
		sleep: func(d time.Duration) { c.slept = append(c.slept, d); c.t = c.t.Add(d) },
		now:   func() time.Time { return c.t },
	}
}

var testHop = sshSettings{user: "root", addr: "hv1:22"}

// eofHandshake is what x/crypto returns when sshd drops the connection
// past MaxStartups.
func eofHandshake() error { return fmt.Errorf("ssh: handshake failed: %w", io.EOF) }

func resetHandshake() error {
	return fmt.Errorf("ssh: handshake failed: %w", &net.OpError{
		Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET),
	})
}

func TestSSHRetryTransientWithJitter(t *testing.T) {
	c := &fakeClock{t: time.Unix(1000, 0), jitter: []float64{0, 0.5, 1}}
	calls := 0
	err := c.policy(5).run(c.t.Add(time.Minute), func() error {
		calls++
		if calls < 5 {
			if calls%2 == 0 {
				return classifyHandshake(testHop, resetHandshake())
			}
			return classifyHandshake(testHop, eofHandshake())
		}
		return nil
	})
	if err != nil || calls != 5 {
		t.Fatalf("run = %v after %d calls; want success on the 5th", err, calls)
	}
	// Steps 100, 200, 400, 400 ms (doubling, capped); each pause is half
	// the step plus jitter times the other half.
	want := []time.Duration{50 * time.Millisecond, 150 * time.Millisecond, 400 * time.Millisecond, 200 * time.Millisecond}
	if fmt.Sprint(c.slept) != fmt.Sprint(want) {
		t.Errorf("pauses = %v; want %v", c.slept, want)
	}
}

func TestSSHRetryGivesUpNamingCauseAndAttempts(t *testing.T) {
	c := &fakeClock{t: time.Unix(1000, 0), jitter: []float64{0.25}}
	calls := 0
	err := c.policy(4).run(c.t.Add(time.Minute), func() error {
		calls++
		return classifyHandshake(testHop, eofHandshake())
	})
	if calls != 4 || len(c.slept) != 3 {
		t.Errorf("%d attempts, %d pauses; want 4 and 3", calls, len(c.slept))
	}
	for _, want := range []string{"root@hv1:22 dropped the connection before the handshake", "MaxStartups", "gave up after 4 attempts", "handshake failed: EOF"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("final error %v lacks %q", err, want)
		}
	}
	if !errors.Is(err, io.EOF) {
		t.Errorf("final error %v does not wrap the last failure", err)
	}
}

// The pauses never run past the dial's deadline: the retry stops first,
// and says so.
func TestSSHRetryStopsAtDeadline(t *testing.T) {
	c := &fakeClock{t: time.Unix(1000, 0), jitter: []float64{1}}
	calls := 0
	err := c.policy(10).run(c.t.Add(500*time.Millisecond), func() error {
		calls++
		return classifyHandshake(testHop, eofHandshake())
	})
	// Pauses 100 ms, 200 ms: 300 ms spent; the next 400 ms would end past
	// the deadline at 500 ms.
	if calls != 3 || fmt.Sprint(c.slept) != "[100ms 200ms]" {
		t.Errorf("%d attempts, pauses %v; want 3 attempts, [100ms 200ms]", calls, c.slept)
	}
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("error = %v; want the attempts and the deadline named", err)
	}
}

// Only a drop before the handshake is retried: a refused connection, an
// authentication failure, an unknown or changed host key, a timeout are
// returned at once, unchanged in kind.
func TestSSHRetryNotTransient(t *testing.T) {
	uk := &model.UnknownHostKeyError{Host: "[hv1]:22", KeyType: "ssh-ed25519", Fingerprint: "SHA256:x", KnownHosts: "/kh"}
	for name, failure := range map[string]error{
		"connection refused": &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)},
		"auth":               errors.New("ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain"),
		"unknown host key":   fmt.Errorf("ssh: handshake failed: %w", uk),
		"changed host key":   errors.New("ssh: handshake failed: SSH host key for [hv1]:22 CHANGED: …"),
		"timeout":            &dialTimeoutError{"ssh root@hv1:22: no answer within 15s"},
		"no common algo":     errors.New("ssh: handshake failed: ssh: no common algorithm for key exchange"),
	} {
		t.Run(name, func(t *testing.T) {
			c := &fakeClock{t: time.Unix(1000, 0), jitter: []float64{0}}
			calls := 0
			err := c.policy(5).run(c.t.Add(time.Minute), func() error {
				calls++
				return classifyHandshake(testHop, failure)
			})
			if calls != 1 || len(c.slept) != 0 {
				t.Errorf("%d attempts, pauses %v; want 1 attempt, no pause", calls, c.slept)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if name == "unknown host key" {
				if got, ok := err.(*model.UnknownHostKeyError); !ok || got != uk {
					t.Errorf("error = %#v; want the UnknownHostKeyError itself", err)
				}
			}
			if name == "timeout" && !errors.Is(err, ErrTimeout) {
				t.Errorf("error = %v; want ErrTimeout", err)
			}
		})
	}
}

// A failure that is not transient after transient ones still says how
// many attempts there were, and an unknown key stays matchable.
func TestSSHRetryTransientThenPermanent(t *testing.T) {
	c := &fakeClock{t: time.Unix(1000, 0), jitter: []float64{0}}
	calls := 0
	err := c.policy(5).run(c.t.Add(time.Minute), func() error {
		calls++
		if calls == 1 {
			return classifyHandshake(testHop, eofHandshake())
		}
		return classifyHandshake(testHop, errors.New("ssh: handshake failed: ssh: unable to authenticate"))
	})
	if calls != 2 || err == nil || !strings.Contains(err.Error(), "unable to authenticate") || !strings.Contains(err.Error(), "attempt 2") {
		t.Errorf("after %d attempts: %v", calls, err)
	}
}

func TestSSHTransientHandshake(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{eofHandshake(), true},
		{resetHandshake(), true},
		{fmt.Errorf("ssh: handshake failed: %w", io.ErrUnexpectedEOF), true},
		{fmt.Errorf("ssh: handshake failed: write: %w", syscall.EPIPE), true},
		{fmt.Errorf("x: %w", &model.UnknownHostKeyError{}), false},
		{errors.New("ssh: handshake failed: ssh: unable to authenticate"), false},
		{os.NewSyscallError("connect", syscall.ECONNREFUSED), false},
		{nil, false},
	} {
		if got := transientHandshake(tc.err); got != tc.want {
			t.Errorf("transientHandshake(%v) = %v; want %v", tc.err, got, tc.want)
		}
	}
}
