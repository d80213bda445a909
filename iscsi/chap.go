package iscsi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Secret is a CHAP secret. It never prints: fmt, %v, %s and %#v all show
// a placeholder, so a log line or an error cannot leak it.
type Secret []byte

func (Secret) String() string   { return "[secret]" }
func (Secret) GoString() string { return "[secret]" }

// CHAP is one-way CHAP: the initiator proves itself to the target. libvirt
// stores the secret as a secret of usage type iscsi (private, so nobody reads
// it back) and the pool's <auth> names it.
type CHAP struct {
	User   string
	Secret Secret
}

// MaxCHAPSecret is the longest secret open-iscsi accepts.
const MaxCHAPSecret = 256

// Validate checks user and secret. Decision: secrets shorter than RFC 3720's
// recommended 12 bytes are accepted (the SAN decides its own policy; tgtd
// takes them), but an empty one is not: that is "no CHAP", said by leaving
// the user empty.
func (c CHAP) Validate() error {
	if c.User == "" {
		return errors.New("CHAP user is empty")
	}
	if strings.ContainsAny(c.User, " \t\r\n") {
		return fmt.Errorf("CHAP user %q contains white space", c.User)
	}
	if len(c.Secret) == 0 {
		return fmt.Errorf("CHAP secret for user %q is empty", c.User)
	}
	if len(c.Secret) > MaxCHAPSecret {
		return fmt.Errorf("CHAP secret is %d bytes; open-iscsi accepts at most %d", len(c.Secret), MaxCHAPSecret)
	}
	return nil
}

// SecretUsage is the usage id of the libvirt iscsi secret for a pool:
// unique per pool, so two pools never share (or delete) each other's secret.
func SecretUsage(pool string) string { return "stowage-chap-" + pool }

// ReadSecretFile reads a CHAP secret from a file: the first line, without
// its line ending. The file must not be readable by group or others.
func ReadSecretFile(path string) (Secret, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("CHAP secret file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("CHAP secret file %s is readable by others (mode %o): chmod 600 it", path, st.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("CHAP secret file: %w", err)
	}
	defer f.Close()
	return readSecretLine(f)
}

func readSecretLine(r io.Reader) (Secret, error) {
	line, err := bufio.NewReader(io.LimitReader(r, MaxCHAPSecret+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read CHAP secret: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return nil, errors.New("CHAP secret is empty")
	}
	return Secret(line), nil
}
