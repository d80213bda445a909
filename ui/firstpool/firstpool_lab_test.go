package firstpool

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"libvirt.org/go/libvirtxml"

	"stowage/connect"
	"stowage/lab"
	"stowage/libvirtx"
	"stowage/plan"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/data"
	"stowage/ui/keys"
	"stowage/ui/keys/keytest"
)

// keyringKey reads the base64 key of a Ceph keyring ("key = …").
func keyringKey(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && strings.TrimSpace(k) == "key" {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no key in keyring %s", path)
	return ""
}

func virshOut(args ...string) ([]byte, error) { return exec.Command("virsh", args...).Output() }

// TestLabLeakFirstPoolCephxKey types the lab's real cephx key into the
// first-pool form, which creates an rbd pool on the lab's libvirtd through
// the production backend. The pool starts (libvirt reached Ceph with the
// key the form stored, so the key did travel, decoded), its secret is
// private, and no form of the key is in any frame, message, audit or log
// line, libvirt XML, process argv or environment, or the test's output.
func TestLabLeakFirstPoolCephxKey(t *testing.T) {
	env := lab.Need(t)
	keyText := keyringKey(t, env.CephKeyring)
	secret := lab.NewSecret("the cephx key of client."+env.CephUser, []byte(keyText))
	g := lab.Guard(t, secret)
	state := t.TempDir()
	logFile, err := os.Create(filepath.Join(state, "stowage.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	var rbdPool libvirtxml.StoragePool
	out, err := virshOut("-c", env.URI, "pool-dumpxml", env.RBDPool)
	if err != nil || rbdPool.Unmarshal(string(out)) != nil || rbdPool.Source == nil || len(rbdPool.Source.Host) == 0 {
		t.Fatalf("the lab's rbd pool: %v", err)
	}
	mon := rbdPool.Source.Host[0].Name
	if p := rbdPool.Source.Host[0].Port; p != "" {
		mon += ":" + p
	}

	be := connect.New([]string{env.URI}, libvirtx.Options{}, libvirtx.DefaultBackoff)
	t.Cleanup(be.Close)
	be.Plan = plan.Runner{Audit: plan.NewAudit(filepath.Join(state, "audit.jsonl")), Log: slog.New(slog.NewTextHandler(logFile, nil))}
	name := fmt.Sprintf("t-firstpool-%d", time.Now().UnixNano())
	t.Cleanup(func() {
		doc, _ := virshOut("-c", env.URI, "pool-dumpxml", name)
		_, _ = virshOut("-c", env.URI, "pool-destroy", name)
		_, _ = virshOut("-c", env.URI, "pool-undefine", name)
		var x libvirtxml.StoragePool
		if x.Unmarshal(string(doc)) == nil && x.Source != nil && x.Source.Auth != nil && x.Source.Auth.Secret != nil {
			_, _ = virshOut("-c", env.URI, "secret-undefine", x.Source.Auth.Secret.UUID)
		}
	})

	m := New(data.NewStore(be, 15*time.Second), 0, "rbd", keys.Default(), themes.Styles{})
	var frames []string
	for _, v := range []string{name, mon, env.CephPool, env.CephUser} {
		for _, r := range v {
			m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
		}
		m.Update(keytest.Press(m.km.FirstPool.Submit))
	}
	for _, r := range keyText {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
		frames = append(frames, m.View())
	}
	procs := lab.WatchProcesses(2 * time.Millisecond)
	_, cmd := m.Update(keytest.Press(m.km.FirstPool.Submit))
	var created bool
	for steps := 0; cmd != nil; steps++ {
		if steps > 200 {
			g.Fatal("the form's run does not end")
		}
		msg := cmd()
		secret.AssertAbsent(g, fmt.Sprintf("message %T", msg), []byte(fmt.Sprintf("%#v %+v", msg, msg)))
		if pop, ok := msg.(common.PopMsg); ok {
			created = pop.Result == CreatedMsg{Host: 0, Pool: name}
			break
		}
		_, cmd = m.Update(msg)
		frames = append(frames, m.View())
	}
	procs.Stop()
	if !created {
		g.Fatalf("the form did not create the pool; last frame:\n%s", frames[len(frames)-1])
	}

	// The key worked: libvirt's rbd backend connected to Ceph with it.
	info, err := virshOut("-c", env.URI, "pool-info", name)
	if err != nil || !strings.Contains(string(info), "running") {
		g.Fatalf("pool %s is not running (%v):\n%s", name, err, info)
	}
	poolXML, _ := virshOut("-c", env.URI, "pool-dumpxml", name)
	var px libvirtxml.StoragePool
	if err := px.Unmarshal(string(poolXML)); err != nil || px.Source == nil || px.Source.Auth == nil || px.Source.Auth.Secret == nil {
		g.Fatalf("pool %s has no cephx auth: %v", name, err)
	}
	secUUID := px.Source.Auth.Secret.UUID
	secXML, err := virshOut("-c", env.URI, "secret-dumpxml", secUUID)
	if err != nil || !strings.Contains(string(secXML), "private='yes'") {
		g.Errorf("the pool's cephx secret %s is not private (%v)", secUUID, err)
	}
	if val, err := virshOut("-c", env.URI, "secret-get-value", secUUID); err == nil {
		secret.AssertAbsent(g, "virsh secret-get-value", val)
		g.Errorf("libvirt hands out the cephx secret %s: it is not private", secUUID)
	}

	for i, f := range frames {
		secret.AssertAbsent(g, fmt.Sprintf("frame %d", i), []byte(f))
	}
	secret.AssertAbsent(g, "virsh pool-dumpxml", poolXML)
	secret.AssertAbsent(g, "virsh secret-dumpxml", secXML)
	if files := secret.AssertAbsentInFiles(g, state); len(files) < 2 {
		g.Errorf("files under the state directory: %v; want the audit log and the log, written", files)
	}
	for _, f := range []string{"audit.jsonl", "stowage.log"} {
		if st, err := os.Stat(filepath.Join(state, f)); err != nil || st.Size() == 0 {
			g.Errorf("%s is empty or missing (%v): its check would prove nothing", f, err)
		}
	}
	procs.AssertAbsent(g, secret)
}
