package libvirtx_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/plan"
)

// virshOut runs virsh on the lab host as a second admin would.
func virshOut(t *testing.T, uri string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("virsh", append([]string{"-c", uri}, args...)...).CombinedOutput()
	return string(out), err
}

// labCephxKey is the lab's cephx user key, raw (base64-decoded), read
// from STOWAGE_LAB_CEPH_KEYRING.
func labCephxKey(t *testing.T, env lab.Env) []byte {
	t.Helper()
	f, err := os.Open(env.CephKeyring)
	if err != nil {
		lab.Unavailable(t, "the lab's cephx keyring: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && strings.TrimSpace(k) == "key" {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
			if err != nil {
				t.Fatalf("%s: key is not base64: %v", env.CephKeyring, err)
			}
			return raw
		}
	}
	t.Fatalf("%s: no key line", env.CephKeyring)
	return nil
}

// hostState is what a first pool could leave on the host: the pool of
// that name (its UUID), the secret with its usage, the dir pool's path.
func hostState(t *testing.T, env lab.Env, s model.PoolSpec) string {
	t.Helper()
	var b strings.Builder
	if out, err := virshOut(t, env.URI, "pool-uuid", s.Name); err == nil {
		fmt.Fprintf(&b, "pool %s uuid %s; ", s.Name, strings.TrimSpace(out))
	}
	out, err := virshOut(t, env.URI, "secret-list")
	if err != nil {
		t.Fatalf("virsh secret-list: %v: %s", err, out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasSuffix(strings.TrimSpace(l), "ceph "+s.SecretUsage()) {
			fmt.Fprintf(&b, "secret %s; ", strings.TrimSpace(l))
		}
	}
	if s.Path != "" {
		if _, err := os.Stat(s.Path); err == nil {
			fmt.Fprintf(&b, "directory %s; ", s.Path)
		}
	}
	return b.String()
}

func readAudit(t *testing.T, path string) []plan.Record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var recs []plan.Record
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		var r plan.Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		recs = append(recs, r)
	}
	return recs
}

func firstPoolSpec(t *testing.T, env lab.Env, typ string) model.PoolSpec {
	name := fmt.Sprintf("t-firstpool-%s-%d", typ, time.Now().UnixNano())
	s := model.PoolSpec{Name: name, Type: typ}
	switch typ {
	case "dir":
		// Not there yet: pool-build makes it, so the rollback removes it.
		s.Path = filepath.Join(t.TempDir(), "pool")
	case "rbd":
		s.Monitors, s.CephPool, s.CephUser = []string{"127.0.0.1:6789"}, env.CephPool, env.CephUser
	}
	return s
}

// TestLabFirstPoolRollbackAfterEachStep creates a dir pool (in a temp
// directory) and an rbd pool (on the lab's Ceph, with the lab's cephx
// user key) failing right after each step in turn: the host must end as
// it began (virsh: no pool, no secret, no directory), every mutation and
// every undo audited with the local user, and the key bytes cleared.
// Then a run without failure leaves an active, autostarted pool.
func TestLabFirstPoolRollbackAfterEachStep(t *testing.T) {
	env := lab.Need(t)
	ctx := context.Background()
	c, err := libvirtx.Dial(ctx, env.URI, libvirtx.Options{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, typ := range []string{"dir", "rbd"} {
		var key []byte
		if typ == "rbd" {
			key = labCephxKey(t, env)
		}
		for _, st := range model.PoolPlan(typ, "x") {
			t.Run(typ+"/fail-after-"+string(st.ID), func(t *testing.T) {
				s := firstPoolSpec(t, env, typ)
				before := hostState(t, env, s)
				auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
				r := plan.Runner{Host: env.URI, Audit: plan.NewAudit(auditPath), FailAfter: st.ID}
				k := slices.Clone(key)
				left, err := c.CreatePool(ctx, r, s, k)
				if err == nil || !strings.Contains(err.Error(), "injected failure") || len(left) != 0 {
					t.Fatalf("CreatePool failing after %s: left %v, err %v", st.ID, left, err)
				}
				if slices.ContainsFunc(k, func(b byte) bool { return b != 0 }) {
					t.Error("the cephx key bytes were not cleared")
				}
				if after := hostState(t, env, s); after != before {
					t.Errorf("the host did not end as it began:\nbefore: %q\nafter:  %q", before, after)
				}
				recs := readAudit(t, auditPath)
				done, undone := map[string]bool{}, map[string]bool{}
				for _, rec := range recs {
					if rec.User == "" || rec.Host != env.URI {
						t.Errorf("audit record without user or host: %+v", rec)
					}
					switch {
					case strings.HasPrefix(rec.Action, "undo ") && rec.Result == plan.ResultOK:
						undone[strings.TrimPrefix(rec.Action, "undo ")] = true
					case rec.Result == plan.ResultOK:
						done[rec.Action] = true
					}
				}
				for a := range done {
					if !undone[a] {
						t.Errorf("audit: %q done but its undo is not recorded: %+v", a, recs)
					}
				}
				if len(done) == 0 {
					t.Errorf("audit records no mutation: %+v", recs)
				}
			})
		}
		t.Run(typ+"/complete", func(t *testing.T) {
			s := firstPoolSpec(t, env, typ)
			before := hostState(t, env, s)
			k := slices.Clone(key)
			if _, err := c.CreatePool(ctx, plan.Runner{Host: env.URI}, s, k); err != nil {
				t.Fatalf("CreatePool: %v", err)
			}
			t.Cleanup(func() {
				virshOut(t, env.URI, "pool-destroy", s.Name)
				virshOut(t, env.URI, "pool-undefine", s.Name)
				if typ == "rbd" {
					virshOut(t, env.URI, "secret-undefine", secretUUIDByUsage(t, env, s.SecretUsage()))
				}
				if after := hostState(t, env, s); typ == "rbd" && after != before {
					t.Errorf("cleanup left %q", after)
				}
			})
			out, err := virshOut(t, env.URI, "pool-info", s.Name)
			if err != nil || !strings.Contains(out, "running") || !regexpAutostartYes(out) {
				t.Errorf("pool-info after CreatePool: %v\n%s", err, out)
			}
		})
	}
}

func regexpAutostartYes(info string) bool {
	for _, l := range strings.Split(info, "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "Autostart:" {
			return f[1] == "yes"
		}
	}
	return false
}

func secretUUIDByUsage(t *testing.T, env lab.Env, usage string) string {
	out, _ := virshOut(t, env.URI, "secret-list")
	for _, l := range strings.Split(out, "\n") {
		if strings.HasSuffix(strings.TrimSpace(l), "ceph "+usage) {
			return strings.Fields(l)[0]
		}
	}
	return "none"
}

// TestLabFirstPoolSecondAdmin: after stowage defined and built its pool,
// a second admin undefines it and defines their own pool of the same
// name. stowage's rollback must leave theirs alone (it acts on the UUID
// its define recorded), say so, and audit it as kept; a second create of
// that name is refused (audited) and undoes nothing.
func TestLabFirstPoolSecondAdmin(t *testing.T) {
	env := lab.Need(t)
	ctx := context.Background()
	c, err := libvirtx.Dial(ctx, env.URI, libvirtx.Options{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := firstPoolSpec(t, env, "dir")
	theirDir := t.TempDir()
	acts, err := c.PoolActions(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	var theirUUID string
	secondAdmin := plan.Action{Step: model.Step{ID: "second-admin", Title: "a second admin replaces the pool"},
		Do: func(context.Context, plan.Report) (plan.Made, error) {
			for _, args := range [][]string{{"pool-undefine", s.Name}, {"pool-define-as", s.Name, "dir", "--target", theirDir}} {
				if out, err := virshOut(t, env.URI, args...); err != nil {
					t.Fatalf("virsh %v: %v: %s", args, err, out)
				}
			}
			out, _ := virshOut(t, env.URI, "pool-uuid", s.Name)
			theirUUID = strings.TrimSpace(out)
			return plan.Made{}, errors.New("the other admin's change makes this plan fail")
		}}
	// define, build, then the second admin.
	acts = append(acts[:2:2], secondAdmin)
	t.Cleanup(func() { virshOut(t, env.URI, "pool-undefine", s.Name) })
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
	r := plan.Runner{Host: env.URI, Audit: plan.NewAudit(auditPath)}
	_, err = r.Run(ctx, acts)
	if err == nil || !strings.Contains(err.Error(), "left alone") {
		t.Errorf("rollback after the pool was replaced: %v; want it to say what it left alone", err)
	}
	out, verr := virshOut(t, env.URI, "pool-uuid", s.Name)
	if verr != nil || strings.TrimSpace(out) != theirUUID || theirUUID == "" {
		t.Fatalf("the second admin's pool %s (uuid %s) is gone or changed: %v %s", s.Name, theirUUID, verr, out)
	}
	kept := 0
	for _, rec := range readAudit(t, auditPath) {
		if rec.Result == plan.ResultKept {
			kept++
		}
		if strings.HasPrefix(rec.Action, "undo") && rec.Result == plan.ResultOK {
			t.Errorf("audit records an undo on a pool that was not ours: %+v", rec)
		}
	}
	if kept == 0 {
		t.Error("audit records no kept object")
	}

	// A pool of that name exists now: refused, audited, nothing undone.
	r2 := plan.Runner{Host: env.URI, Audit: plan.NewAudit(auditPath)}
	_, err = c.CreatePool(ctx, r2, s, nil)
	if !errors.Is(err, libvirtx.ErrExists) {
		t.Errorf("CreatePool over an existing pool: %v; want ErrExists", err)
	}
	recs := readAudit(t, auditPath)
	if last := recs[len(recs)-1]; last.Result != plan.ResultRefused || last.Action != "create pool" {
		t.Errorf("the refusal is not audited: last record %+v", last)
	}
	if out, err := virshOut(t, env.URI, "pool-uuid", s.Name); err != nil || strings.TrimSpace(out) != theirUUID {
		t.Errorf("the refused create touched the other admin's pool: %v %s", err, out)
	}
}
