package cli

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"os/exec"
	"path"
	"regexp"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/textinput"
	"charm.land/huh/v2"
	"libvirt.org/go/libvirtxml"

	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
)

// e2eDrive is what the create-drive wizard is given.
type e2eDrive struct {
	pool, name, size string
	// encryption is the option's label prefix ("LUKS in QEMU", "LUKS2 by
	// librbd"), format what the review then says (luks, luks2).
	encryption, format string
	// vm is the VM to attach to live and persistently; "" attaches nothing.
	vm string
}

// selectPool filters the pools screen down to pool and waits until it is
// the selected row.
func (c *e2eConsole) selectPool(pool string) {
	c.t.Helper()
	c.press(c.km.Filter)
	c.typ(pool)
	c.press(c.km.Enter)
	// The filter is fuzzy: other pools may match too; go down to this one.
	screen := c.waitFor("the filtered pools", e2eGuard, func(s string) bool {
		return strings.Contains(s, "filter: "+pool) && poolDetail.MatchString(s)
	})
	for range 50 {
		sel := poolDetail.FindStringSubmatch(screen)[1]
		if sel == pool {
			c.waitText(e2eGuard, pool+": can create drives: yes")
			return
		}
		c.press(c.km.Down)
		screen = c.waitFor("the selection to move", e2eGuard, func(s string) bool {
			m := poolDetail.FindStringSubmatch(s)
			return m != nil && m[1] != sel
		})
	}
	c.t.Fatalf("pool %s never selected:\n%s", pool, screen)
}

// poolDetail is the pools screen's line about the selected pool.
var poolDetail = regexp.MustCompile(`(?m)^(\S+): can create drives:`)

// huhCursor is the option under the cursor of the select on screen.
func huhCursor(screen string) string {
	for _, l := range strings.Split(screen, "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "┃"))
		if o, ok := strings.CutPrefix(l, "> "); ok {
			return strings.TrimSpace(o)
		}
	}
	return ""
}

// createDriveFlow runs the create-drive wizard from the selected pool to
// its progress view's end and returns that final screen (the workflow's
// summary or its failure).
func (c *e2eConsole) createDriveFlow(d e2eDrive) string {
	c.t.Helper()
	hk := huh.NewDefaultKeyMap()
	c.press(c.km.CreateDrive)
	c.waitFor("the wizard's pool field", e2eGuard, func(s string) bool {
		return strings.Contains(s, "Create a drive on") && huhFocused(s, "Pool") && huhSelected(s, d.pool)
	})
	c.press(hk.Select.Next)
	c.waitFor("the name field", e2eGuard, func(s string) bool { return huhFocused(s, "Name") })
	c.typ(d.name)
	c.press(hk.Input.Next)
	c.waitFor("the size field", e2eGuard, func(s string) bool { return huhFocused(s, "Size") })
	c.typ(d.size)
	c.press(hk.Input.Next)
	// Format's and Encryption's options follow the pool (huh OptionsFunc):
	// huh ignores Enter until they are loaded, i.e. until they are drawn.
	c.waitFor("the format field", e2eGuard, func(s string) bool { return huhFocused(s, "Format") && huhSelected(s, "raw") })
	c.press(hk.Select.Next)
	c.waitFor("the encryption field", e2eGuard, func(s string) bool {
		return huhFocused(s, "Encryption") && huhSelected(s, d.encryption)
	})
	c.press(hk.Select.Next)
	if strings.HasPrefix(d.encryption, "LUKS in QEMU") {
		c.waitFor("the cipher field", e2eGuard, func(s string) bool { return huhFocused(s, "LUKS cipher") })
		c.press(hk.Select.Next)
	}
	c.waitFor("the VM field", e2eGuard, func(s string) bool { return huhFocused(s, "Attach to a VM") })
	if d.vm != "" {
		screen := c.screenNow()
		for range 20 {
			if huhSelected(screen, d.vm) {
				break
			}
			prev := huhCursor(screen)
			c.press(hk.Select.Down)
			screen = c.waitFor("the cursor to move", e2eGuard, func(s string) bool { return huhCursor(s) != prev })
		}
		c.waitFor("VM "+d.vm+" chosen", e2eGuard, func(s string) bool { return huhSelected(s, d.vm) })
		c.press(hk.Select.Next)
		c.waitFor("the attach-mode field", e2eGuard, func(s string) bool {
			return huhFocused(s, "Attach how") && huhSelected(s, "live and persistent")
		})
	}
	c.press(hk.Select.Next)
	review := c.waitText(e2eGuard, "Review: create "+d.pool+"/"+d.name)
	if !strings.Contains(review, ", encryption "+d.format) {
		c.t.Fatalf("the review does not say encryption %s:\n%s", d.format, review)
	}
	c.press(c.offered("create"))
	// Creating a LUKS volume runs QEMU's PBKDF benchmark (seconds; LUKS2
	// by librbd up to 16 s): generous guard.
	return c.waitFor("the workflow's end", 10*time.Minute, func(s string) bool {
		return strings.Contains(s, "enter/esc: close")
	})
}

var e2eSecretInSummary = regexp.MustCompile(`secret ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`)

// TestConsoleCreatesLUKSDriveAndAttaches: the create-drive wizard makes a
// QEMU-layer LUKS volume on the lab's dir pool and attaches it to the
// running lab VM live and persistently; virsh shows the encryption on the
// volume and the disk with its secret in the VM, live and inactive. No
// frame ever shows the passphrase.
func TestConsoleCreatesLUKSDriveAndAttaches(t *testing.T) {
	env := lab.Need(t)
	name := "t-e2e-luks-" + e2eStamp()
	e2eForgetDrive(t, env.URI, env.DirPool, name)
	e2eLeaveVMClean(t, env, name) // runs first: the disk goes before its volume
	c := e2eOpen(t, []string{env.URI}, cfgNone)
	c.waitFor("the lab's pools", e2eGuard, func(s string) bool {
		return strings.Contains(s, env.DirPool) && strings.Contains(s, "9.0.0") && !strings.Contains(s, "loading")
	})
	c.selectPool(env.DirPool)
	end := c.createDriveFlow(e2eDrive{pool: env.DirPool, name: name, size: "32M",
		encryption: "LUKS in QEMU", format: "luks", vm: env.VM})
	if !strings.Contains(end, "done") || strings.Contains(end, "failed:") {
		t.Fatalf("create drive did not succeed:\n%s", end)
	}
	m := e2eSecretInSummary.FindStringSubmatch(end)
	if m == nil {
		t.Fatalf("no secret UUID in the summary:\n%s", end)
	}
	uuid := m[1]

	var vol libvirtxml.StorageVolume
	if err := xml.Unmarshal([]byte(e2eMustVirsh(t, env.URI, "vol-dumpxml", "--pool", env.DirPool, name)), &vol); err != nil {
		t.Fatal(err)
	}
	enc := vol.Target.Encryption
	if enc == nil || enc.Format != "luks" || enc.Secret == nil || enc.Secret.UUID != uuid || enc.Secret.Type != "passphrase" {
		t.Fatalf("vol-dumpxml: encryption %+v; want luks with passphrase secret %s", enc, uuid)
	}
	path := vol.Target.Path
	for _, inactive := range []bool{false, true} {
		args := []string{"dumpxml", env.VM}
		if inactive {
			args = append(args, "--inactive")
		}
		var dom libvirtxml.Domain
		if err := xml.Unmarshal([]byte(e2eMustVirsh(t, env.URI, args...)), &dom); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, d := range dom.Devices.Disks {
			if d.Source == nil || d.Source.File == nil || d.Source.File.File != path {
				continue
			}
			found = true
			// libvirt keeps the encryption inside <source> (stowage writes it there).
			e := d.Source.Encryption
			if e == nil {
				e = d.Encryption
			}
			if e == nil || e.Format != "luks" || len(e.Secrets) != 1 || e.Secrets[0].UUID != uuid || e.Secrets[0].Type != "passphrase" {
				t.Errorf("%s: disk %s carries encryption %+v; want luks with the secret %s", strings.Join(args, " "), path, e, uuid)
			}
		}
		if !found {
			t.Errorf("%s: no disk %s", strings.Join(args, " "), path)
		}
	}
	// The console shows the new drive, encrypted and attached.
	c.press(c.offered("close"))
	c.waitFor("the pools screen again", e2eGuard, func(s string) bool {
		first, _, _ := strings.Cut(s, "\n")
		return strings.HasSuffix(strings.TrimSpace(first), "pools on "+env.URI)
	})
	c.press(c.km.Volumes)
	c.waitText(e2eGuard, "ATTACHED TO")
	c.press(c.km.Filter)
	c.typ(name)
	c.waitFor("the new drive in the volumes view", e2eGuard, func(s string) bool {
		for _, l := range strings.Split(s, "\n") {
			if strings.Contains(l, name) && strings.Contains(l, "luks (qemu)") && strings.Contains(l, env.VM+":") {
				return true
			}
		}
		return false
	})
	c.assertNoSecrets(e2eSecretValue(t, "the drive's LUKS passphrase", uuid), e2eCephxKey(t, env.CephKeyring))
}

// e2eForgetDrive removes, when the test ends however it ends, the drive
// this test asks the console to make: its secret (found by the usage
// stowage gives it) and its volume, whichever exist.
func e2eForgetDrive(t *testing.T, uri, pool, name string) {
	t.Cleanup(func() {
		ctx := context.Background()
		c, err := libvirtx.Dial(ctx, uri, libvirtx.Options{})
		if err != nil {
			t.Errorf("cleanup of %s/%s: %v", pool, name, err)
			return
		}
		defer c.Close()
		p, err := c.Pool(ctx, pool)
		if err != nil {
			t.Errorf("cleanup of %s/%s: %v", pool, name, err)
			return
		}
		usage := path.Join(p.TargetPath, name)
		if p.Type == model.PoolRBD {
			usage = p.SourceName + "/" + name
		}
		if uuid, ok, err := c.SecretByVolumeUsage(ctx, usage); err == nil && ok {
			if err := c.UndefineSecret(ctx, uuid); err != nil {
				t.Errorf("cleanup: secret %s: %v", uuid, err)
			}
		}
		_ = c.RefreshPool(ctx, pool)
		if _, err := c.Volume(ctx, pool, name); err == nil {
			if err := c.DeleteVolume(ctx, pool, name); err != nil {
				t.Errorf("cleanup: volume %s/%s: %v", pool, name, err)
			}
		}
	})
}

// e2eLeaveVMClean leaves the lab VM running without this test's disks:
// the VM has no guest OS to acknowledge a live unplug, so a live disk
// goes only with a restart (as the drive package's lab tests do).
func e2eLeaveVMClean(t *testing.T, env lab.Env, source string) {
	t.Cleanup(func() {
		var targets []string
		dirty := false
		for _, args := range [][]string{{"dumpxml", env.VM}, {"dumpxml", env.VM, "--inactive"}} {
			out, _ := e2eVirsh(t, env.URI, args...)
			var dom libvirtxml.Domain
			if xml.Unmarshal([]byte(out), &dom) != nil {
				continue
			}
			for _, d := range dom.Devices.Disks {
				if d.Source != nil && d.Source.File != nil && strings.Contains(d.Source.File.File, source) && d.Target != nil {
					dirty = true
					targets = append(targets, d.Target.Dev)
				}
			}
		}
		if !dirty {
			return
		}
		_, _ = e2eVirsh(t, env.URI, "destroy", env.VM)
		for _, dev := range targets {
			_, _ = e2eVirsh(t, env.URI, "detach-disk", env.VM, dev, "--config")
		}
		if out, err := e2eVirsh(t, env.URI, "start", env.VM); err != nil {
			t.Errorf("could not start %s again: %v\n%s", env.VM, err, out)
		}
	})
}

// rbdHeader reads the first bytes of an RBD image with the rbd CLI, as the
// lab's libvirt client.
func rbdHeader(t *testing.T, env lab.Env, image string, n int) []byte {
	t.Helper()
	cmd := exec.Command("rbd", "-c", env.CephConf, "--id", env.CephUser, "-k", env.CephKeyring,
		"export", "--no-progress", image, "-")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, n)
	_, rerr := io.ReadFull(out, b)
	_ = cmd.Process.Kill() // ours: the rest of the image is not needed
	_ = cmd.Wait()
	if rerr != nil {
		t.Fatalf("rbd export %s: %v: %s", image, rerr, stderr.String())
	}
	return b
}

// TestConsoleCreatesLUKS2OnRBDAndDeletes: the wizard makes a LUKS2 drive on
// the lab's rbd pool, formatted by librbd, with nothing configured for
// Ceph; the image starts with a LUKS2 header. Then the drive is deleted from the volumes view through the
// typed confirmation: a wrong name is refused and deletes nothing, the
// right one removes the image and its secret. No frame shows the LUKS2
// passphrase or the cephx key.
func TestConsoleCreatesLUKS2OnRBDAndDeletes(t *testing.T) {
	env := lab.Need(t)
	name := "t-e2e-luks2-" + e2eStamp()
	image := env.CephPool + "/" + name
	e2eForgetDrive(t, env.URI, env.RBDPool, name)
	// No Ceph configuration at all: stowage finds the cluster where librados
	// and the rbd CLI look (lab/up installs the lab's client conf and
	// keyring in /etc/ceph), as a newcomer's `make demo` must.
	c := e2eOpen(t, []string{env.URI}, cfgNone)
	c.waitFor("the lab's pools", e2eGuard, func(s string) bool {
		return strings.Contains(s, env.RBDPool) && strings.Contains(s, "9.0.0") && !strings.Contains(s, "loading")
	})
	c.selectPool(env.RBDPool)
	end := c.createDriveFlow(e2eDrive{pool: env.RBDPool, name: name, size: "64M", encryption: "LUKS2 by librbd", format: "luks2"})
	m := e2eSecretInSummary.FindStringSubmatch(end)
	if !strings.Contains(end, "done") || strings.Contains(end, "failed:") || m == nil {
		t.Fatalf("create drive did not succeed (or named no secret):\n%s", end)
	}
	uuid := m[1]
	var vol libvirtxml.StorageVolume
	if err := xml.Unmarshal([]byte(e2eMustVirsh(t, env.URI, "vol-dumpxml", "--pool", env.RBDPool, name)), &vol); err != nil {
		t.Fatal(err)
	}
	if vol.Target == nil || vol.Target.Path != image {
		t.Fatalf("vol-dumpxml: target %+v; want path %s", vol.Target, image)
	}
	if h := rbdHeader(t, env, image, 8); string(h[:6]) != "LUKS\xba\xbe" || h[6] != 0 || h[7] != 2 {
		t.Fatalf("image %s starts with %q: not a LUKS2 header", image, h)
	}
	var sec libvirtxml.Secret
	if err := xml.Unmarshal([]byte(e2eMustVirsh(t, env.URI, "secret-dumpxml", uuid)), &sec); err != nil {
		t.Fatal(err)
	}
	if sec.Private != "yes" || sec.Usage == nil || sec.Usage.Type != "volume" || sec.Usage.Volume != image {
		t.Fatalf("secret %s: private %q usage %+v; want private, usage volume %s", uuid, sec.Private, sec.Usage, image)
	}
	passphrase := e2eSecretValue(t, "the drive's LUKS2 passphrase", uuid)

	// Delete it from the volumes view.
	c.press(c.offered("close"))
	c.waitFor("the pools screen again", e2eGuard, func(s string) bool {
		first, _, _ := strings.Cut(s, "\n")
		return strings.HasSuffix(strings.TrimSpace(first), "pools on "+env.URI)
	})
	c.press(c.km.Volumes)
	c.waitText(e2eGuard, "ATTACHED TO")
	c.press(c.km.Filter)
	c.typ(name)
	c.press(c.km.Enter)
	c.waitFor("the drive alone in the volumes view", e2eGuard, func(s string) bool {
		return strings.Contains(s, name) && strings.Contains(s, "1/")
	})
	c.press(c.km.DeleteDrive)
	c.waitText(e2eGuard, "Delete drive "+env.RBDPool+"/"+name, "Type the drive's name to confirm")
	c.typ("not-" + name)
	c.press(c.offered("confirm"))
	c.waitText(e2eGuard, fmt.Sprintf("type %q exactly to confirm", name))
	if _, err := e2eVirsh(t, env.URI, "vol-info", "--pool", env.RBDPool, name); err != nil {
		t.Fatalf("a wrong confirmation deleted the drive: %v", err)
	}
	// Nothing typed since: the refusal is still there to be read.
	if s := c.screenNow(); !strings.Contains(s, "exactly to confirm") {
		t.Errorf("the refusal is gone before anything was typed:\n%s", s)
	}
	c.press(textinput.DefaultKeyMap().DeleteBeforeCursor)
	c.typ(name)
	c.waitFor("the name typed, the refusal gone", e2eGuard, func(s string) bool {
		return strings.Contains(s, "> "+name) && !strings.Contains(s, "exactly to confirm")
	})
	c.press(c.offered("confirm"))
	end = c.waitFor("the delete's end", 5*time.Minute, func(s string) bool { return strings.Contains(s, "enter/esc: close") })
	if !strings.Contains(end, "done") || strings.Contains(end, "failed:") {
		t.Fatalf("delete did not succeed:\n%s", end)
	}
	if out, err := e2eVirsh(t, env.URI, "vol-info", "--pool", env.RBDPool, name); err == nil {
		t.Errorf("the drive is still there after delete:\n%s", out)
	}
	if out, err := e2eVirsh(t, env.URI, "secret-dumpxml", uuid); err == nil {
		t.Errorf("the drive's secret is still there after delete:\n%s", out)
	}
	c.press(c.offered("close"))
	c.waitFor("the volumes view without the drive", e2eGuard, func(s string) bool {
		first, _, _ := strings.Cut(s, "\n")
		return strings.HasSuffix(strings.TrimSpace(first), "volumes") && strings.Contains(s, "0/")
	})
	c.assertNoSecrets(passphrase, e2eCephxKey(t, env.CephKeyring))
}

// TestConsoleSelectsTheDriveItCreated: a drive created from a pool's
// volumes view is the selected row once the progress view closes (the
// console re-reads the host and the browser selects what was made):
// describe, which acts on the selected row, names the new volume.
func TestConsoleSelectsTheDriveItCreated(t *testing.T) {
	env := lab.Need(t)
	name := "t-e2e-select-" + e2eStamp()
	e2eForgetDrive(t, env.URI, env.DirPool, name)
	c := e2eOpen(t, []string{env.URI}, cfgNone)
	c.waitFor("the lab's pools", e2eGuard, func(s string) bool {
		return strings.Contains(s, env.DirPool) && strings.Contains(s, "9.0.0") && !strings.Contains(s, "loading")
	})
	c.selectPool(env.DirPool)
	c.press(c.km.Enter) // the pool's volumes
	c.waitFor("the pool's volumes", e2eGuard, func(s string) bool {
		first, _, _ := strings.Cut(s, "\n")
		return strings.HasSuffix(strings.TrimSpace(first), env.DirPool) && strings.Contains(s, "ATTACHED TO")
	})
	end := c.createDriveFlow(e2eDrive{pool: env.DirPool, name: name, size: "16M", encryption: "LUKS in QEMU", format: "luks"})
	if !strings.Contains(end, "done") || strings.Contains(end, "failed:") {
		t.Fatalf("create drive did not succeed:\n%s", end)
	}
	c.press(c.offered("close"))
	c.waitFor("the volumes view showing the new drive", e2eGuard, func(s string) bool {
		first, _, _ := strings.Cut(s, "\n")
		return strings.HasSuffix(strings.TrimSpace(first), env.DirPool) && strings.Contains(s, "ATTACHED TO") && strings.Contains(s, name)
	})
	c.press(c.km.Describe)
	c.waitText(e2eGuard, fmt.Sprintf("vol-dumpxml --pool %s %s", env.DirPool, name))
}
