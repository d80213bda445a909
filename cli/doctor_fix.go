package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/charmbracelet/x/term"

	"stowage/ceph"
	"stowage/cli/env"
	"stowage/doctor"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
)

// doctorFix applies one fix: the host is diagnosed again and the fix
// applied only while a finding still asks for it, to the object whose
// identity that diagnosis read (a pool by UUID); the admin's typed
// confirmation must name the target. Refusals and the fix are audited.
func doctorFix(ctx context.Context, e *env.Env, f doctorFlags, stdout, stderr io.Writer) int {
	kind, target, ok := strings.Cut(f.fix, ":")
	switch {
	case !ok || target == "":
		fmt.Fprintf(stderr, "stowage doctor: --fix %q: want KIND:TARGET, e.g. start-pool:default (a finding's fix names it)\n", f.fix)
		return 2
	case kind != model.FixStartPool && kind != model.FixAutostartPool && kind != model.FixSetSecret && kind != model.FixBreakLock:
		fmt.Fprintf(stderr, "stowage doctor: --fix %q: unknown fix %q; stowage applies %s, %s, %s and %s\n",
			f.fix, kind, model.FixStartPool, model.FixAutostartPool, model.FixSetSecret, model.FixBreakLock)
		return 2
	}
	uri, err := e.Host(oneURI(f.uris))
	if err != nil {
		fmt.Fprintln(stderr, "stowage doctor:", err)
		return 2
	}
	r := plan.Runner{Host: uri, Audit: e.Audit, Log: e.Log}
	action := "doctor fix " + kind
	refuse := func(format string, args ...any) int {
		err := r.Refuse(action, target, fmt.Errorf(format, args...))
		fmt.Fprintln(stderr, "stowage doctor:", model.SafeText(err.Error()))
		return 1
	}
	if e.ReadOnly {
		return refuse("--readonly: fixes change the host; run without --readonly to apply %s", f.fix)
	}
	if f.confirm != target {
		return refuse("to %s %s, confirm by typing its target: --confirm %s", kind, target, target)
	}
	c, err := e.OwnDial(ctx, uri)
	if err != nil {
		fmt.Fprintln(stderr, "stowage:", err)
		return 1
	}
	defer c.Close()
	a := model.FixAction{Kind: kind, Host: uri, Target: target}
	err = doctorFor(e).Fix(ctx, r, c, a, func() ([]byte, error) {
		return readSecretValue(f.secretFile, target, stderr)
	})
	if err != nil {
		// Names in it come from libvirt and Ceph: escaped for the terminal.
		fmt.Fprintln(stderr, "stowage doctor:", model.SafeText(err.Error()))
		return 1
	}
	fmt.Fprintf(stdout, "fixed: %s %s on %s\n", kind, model.SafeText(target), uri)
	return 0
}

func oneURI(uris uriList) string {
	if len(uris) == 0 {
		return ""
	}
	return uris[0]
}

// readSecretValue reads a secret's value from file, else from the
// terminal without echo. The bytes are the caller's to clear.
func readSecretValue(file, uuid string, stderr io.Writer) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--secret-file: %w", err)
		}
		v := bytes.TrimRight(b, "\r\n")
		if len(v) == 0 {
			return nil, fmt.Errorf("--secret-file %s is empty: it must hold the drive's passphrase", file)
		}
		return v, nil
	}
	fd := os.Stdin.Fd()
	if !term.IsTerminal(fd) {
		return nil, errors.New("the secret's value: stdin is not a terminal; give --secret-file")
	}
	fmt.Fprintf(stderr, "value of secret %s (the drive's passphrase; not shown): ", uuid)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return nil, fmt.Errorf("read the secret's value: %w", err)
	}
	if len(b) == 0 {
		return nil, errors.New("the secret's value is empty")
	}
	return b, nil
}

// breakLock breaks the stale lock a finding named, on the cluster of the
// host's rbd pool that holds the image, as the pool's user: only that
// locker's lock with that cookie, and only while the locker still does
// not watch the image (ceph.BreakLock re-checks).
func breakLock(ctx context.Context, e *env.Env, c *libvirtx.Conn, h model.HostInfo, a model.FixAction) error {
	cephPool, image, _ := strings.Cut(a.Target, "/")
	clusters, _ := ceph.HostClusters(ctx, h, cephAccess(e, c, h.URI), e.Timeout)
	defer func() {
		for _, cl := range clusters {
			clear(cl.Config.Key)
		}
	}()
	for _, cl := range clusters {
		if !slices.Contains(cl.CephPools, cephPool) {
			continue
		}
		conn, err := ceph.Connect(ctx, cl.Config)
		if err != nil {
			return err
		}
		defer conn.Close()
		err = conn.BreakLock(ctx, cephPool, image, a.Detail["locker"], a.Detail["cookie"])
		if errors.Is(err, ceph.ErrLockChanged) || errors.Is(err, ceph.ErrLockLive) {
			return fmt.Errorf("%v: %w", err, doctor.ErrNotApplied)
		}
		return err
	}
	return fmt.Errorf("no rbd pool on %s holds Ceph pool %s any more: %w", h.URI, cephPool, doctor.ErrNotApplied)
}
