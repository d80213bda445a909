package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"

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
	case kind != model.FixStartPool && kind != model.FixAutostartPool && kind != model.FixSetSecret:
		fmt.Fprintf(stderr, "stowage doctor: --fix %q: unknown fix %q; stowage applies %s, %s and %s\n",
			f.fix, kind, model.FixStartPool, model.FixAutostartPool, model.FixSetSecret)
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
		fmt.Fprintln(stderr, "stowage doctor:", err)
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
	h := c.Inventory(ctx)
	var found *model.Finding
	for _, fd := range doctorFindings(h) {
		if a := fd.Action; a != nil && a.Kind == kind && a.Target == target {
			found = &fd
			break
		}
	}
	if found == nil {
		return refuse("no finding on %s asks for %s any more (another admin may have fixed it): nothing done", uri, f.fix)
	}
	fmt.Fprintf(stderr, "fixing: %s\n", model.SafeText(found.Message))
	start := time.Now()
	switch kind {
	case model.FixStartPool, model.FixAutostartPool:
		err = fixPool(ctx, c, h, kind, target)
	case model.FixSetSecret:
		err = fixSecret(ctx, c, found.Action, f.secretFile, stderr)
	}
	if errors.Is(err, errNotApplied) {
		return refuse("%v", err)
	}
	r.Record(action, target, resultOf(err), err, time.Since(start))
	if err != nil {
		fmt.Fprintf(stderr, "stowage doctor: %s %s: %v\n", kind, target, err)
		return 1
	}
	fmt.Fprintf(stdout, "fixed: %s %s on %s\n", kind, model.SafeText(target), uri)
	return 0
}

// doctorFindings is every finding stowage can fix itself on one host.
var doctorFindings = doctor.Libvirt

func resultOf(err error) string {
	if err != nil {
		return plan.ResultFailed
	}
	return plan.ResultOK
}

func oneURI(uris uriList) string {
	if len(uris) == 0 {
		return ""
	}
	return uris[0]
}

// errNotApplied marks a fix stowage declined before changing anything.
var errNotApplied = errors.New("not applied")

// fixPool starts a pool or marks it autostart, by the UUID the diagnosis
// read: a pool another admin put in its place is left alone.
func fixPool(ctx context.Context, c *libvirtx.Conn, h model.HostInfo, kind, name string) error {
	uuid := ""
	for _, p := range h.Pools {
		if p.Name == name {
			uuid = p.UUID
		}
	}
	act := model.PoolActStart
	if kind == model.FixAutostartPool {
		act = model.PoolActAutostartOn
	}
	return c.PoolIf(ctx, name, act, func(got string) error {
		if got != uuid {
			return fmt.Errorf("pool %s is another pool now (UUID %s, diagnosed %s): %w", name, got, uuid, errNotApplied)
		}
		return nil
	})
}

// fixSecret re-defines a lost disk secret with the UUID and usage the
// disk names, private and persistent, with the value the admin gives.
func fixSecret(ctx context.Context, c *libvirtx.Conn, a *model.FixAction, file string, stderr io.Writer) error {
	value, err := readSecretValue(file, a.Target, stderr)
	if err != nil {
		return fmt.Errorf("%v: %w", err, errNotApplied)
	}
	defer clear(value)
	_, err = c.DefineSecret(ctx, libvirtx.SecretSpec{
		UUID: a.Target, UsageType: a.Detail["usage"], UsageID: a.Detail["usage_id"],
		Description: "re-defined by stowage doctor",
	}, value)
	if errors.Is(err, model.ErrNotTheSame) {
		return fmt.Errorf("%v: %w", err, errNotApplied)
	}
	return err
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
