package cli

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"stowage/lab"
)

// TestLabConsoleCephView drives the real console into the Ceph view on
// the lab: an image made and locked by the rbd tool as client.admin (a
// lock whose client has exited), a VM with a disk on it. From the rbd
// pool's row the Ceph key opens the images of its Ceph pool; the image's
// row shows the lock, the libvirt pool and the VM, and its detail the
// lock's cookie.
func TestLabConsoleCephView(t *testing.T) {
	env := lab.Need(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	id := fmt.Sprintf("t-view-%06d", time.Now().UnixNano()%1e6)
	image, vm := id, id+"-vm"
	spec := env.CephPool + "/" + image
	labImage(t, env, spec)
	t.Cleanup(func() { _, _ = virsh(t, env.URI, "undefine", vm) })
	if _, err := labRBD(t, env, "lock", "add", spec, "view-test"); err != nil {
		t.Fatal(err)
	}
	mustVirsh(t, env.URI, "pool-refresh", env.RBDPool)
	domXML := t.TempDir() + "/vm.xml"
	writeFile(t, domXML, fmt.Sprintf(`<domain type='kvm'><name>%s</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>
<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='rbd' name='%s'><host name='127.0.0.1'/></source><target dev='vda' bus='virtio'/></disk>
</devices></domain>`, vm, spec))
	mustVirsh(t, env.URI, "define", domXML)

	c := e2eOpen(t, []string{env.URI}, cfgNone)
	c.selectPool(env.RBDPool)
	c.press(c.km.Ceph)
	c.waitText(e2eGuard, "images of "+env.CephPool+" on "+env.URI, "LOCKERS", "LIBVIRT POOL")
	c.press(c.km.Filter)
	c.typ(image)
	c.press(c.km.Enter)
	row := regexp.MustCompile(regexp.QuoteMeta(spec) + ` .* none +- +client\.\d+@127\.0\.0\.1\S* ?\S* +0 +- +` +
		regexp.QuoteMeta(env.RBDPool) + ` +` + regexp.QuoteMeta(vm))
	screen := c.waitFor("the image's row with its lock, libvirt pool and VM", e2eGuard, row.MatchString)
	if !strings.Contains(screen, "filter: "+image) {
		t.Fatalf("not the filtered images:\n%s", screen)
	}
	c.press(c.km.Enter)
	detail := regexp.MustCompile(`(?s)image +` + regexp.QuoteMeta(spec) + `.*libvirt pool +` + regexp.QuoteMeta(env.RBDPool) +
		`\s.*VMs +` + regexp.QuoteMeta(vm) + `\s.*locker +client\.\d+ at 127\.0\.0\.1\S* \(host 127\.0\.0\.1, cookie "view-test", exclusive\); nobody watches the image`)
	c.waitFor("the image's detail in order: libvirt pool, VM, then the lock", e2eGuard, detail.MatchString)
	c.press(c.km.Back)
	c.press(c.km.Back)
	c.waitText(e2eGuard, "CAN CREATE DRIVES")
}
