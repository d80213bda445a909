package libvirtx

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"syscall"
	"time"

	"stowage/model"
)

// sshd drops unauthenticated connections beyond MaxStartups (default
// 10:30:100) before or right after the version exchange: the client sees
// "ssh: handshake failed: EOF" or a connection reset. Thirty hosts behind
// one sshd dialed at once lost nine that way. Such a refusal says the
// server is busy, not that the host is down, so the dial is tried again
// after a randomized pause (so that the refused clients do not come back
// in lockstep), within the dial's deadline.

// transientError marks a failure worth another attempt; cause says in
// words what happened, for the message when every attempt failed.
type transientError struct {
	cause string
	err   error
}

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// transientHandshake reports whether a failed SSH handshake is the
// server dropping the connection before it got going (MaxStartups, a
// restarting sshd), as opposed to a refusal that another attempt would
// meet again: authentication, host keys, algorithms, connection refused.
func transientHandshake(err error) bool {
	var uk *model.UnknownHostKeyError
	if err == nil || errors.As(err, &uk) {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// retryPolicy bounds the attempts of one dial. jitter, sleep and now are
// fields so that a unit test runs it without a wall clock.
type retryPolicy struct {
	attempts int           // at most this many attempts in all
	base     time.Duration // pause before the second attempt, before jitter
	max      time.Duration // longest pause, before jitter
	jitter   func() float64
	sleep    func(time.Duration)
	now      func() time.Time
}

// defaultRetry: at most 10 attempts, pauses of 125-250 ms, 250-500 ms,
// … then 1-2 s each (12.4 s in all at most), always within the dial's
// deadline (the default timeout of 15 s ends it first).
func defaultRetry() retryPolicy {
	return retryPolicy{
		attempts: 10, base: 250 * time.Millisecond, max: 2 * time.Second,
		jitter: rand.Float64, sleep: time.Sleep, now: time.Now,
	}
}

// pause is the wait after the n-th failed attempt: half of the doubled
// step, plus a random share of the other half ("equal jitter").
func (p retryPolicy) pause(n int) time.Duration {
	step := p.base
	for i := 1; i < n && step < p.max; i++ {
		step *= 2
	}
	step = min(step, p.max)
	return step/2 + time.Duration(p.jitter()*float64(step/2))
}

// run calls attempt until it succeeds, fails for good, the attempts are
// spent or the next pause would end past deadline. An error that is not a
// *transientError is returned as it is (after naming the earlier
// attempts, if any), so callers can still match *model.UnknownHostKeyError.
func (p retryPolicy) run(deadline time.Time, attempt func() error) error {
	for n := 1; ; n++ {
		err := attempt()
		var te *transientError
		if err == nil {
			return nil
		}
		if !errors.As(err, &te) {
			if n > 1 {
				var uk *model.UnknownHostKeyError
				if errors.As(err, &uk) {
					return uk
				}
				return fmt.Errorf("%w (attempt %d; the earlier ones were dropped before the handshake)", err, n)
			}
			return err
		}
		if n >= p.attempts {
			return fmt.Errorf("%s; gave up after %d attempts: %w", te.cause, n, te.err)
		}
		wait := p.pause(n)
		if left := deadline.Sub(p.now()); wait >= left {
			return fmt.Errorf("%s; gave up after %d attempts (the %s pause before the next one would pass the dial's deadline): %w",
				te.cause, n, wait.Round(time.Millisecond), te.err)
		}
		p.sleep(wait)
	}
}
