// Package firstrun is the screen shown while no host can be reached: what
// failed, in words an admin can act on (no socket, permission denied,
// unknown SSH host key with its fingerprint), and how to add a host. It is
// pure rendering over the store; the root owns the keys, and the ones
// this screen names (trust_host_key, refresh, quit) are read from the
// keymap, remaps included. It imports ui/data, ui/keys, model and themes. Everything from a host is
// escaped (model.SafeText) before it reaches the terminal.
package firstrun

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"

	"stowage/model"
	"stowage/themes"
	"stowage/ui/data"
	"stowage/ui/keys"
)

// Advice is what to do about a host's failure.
func Advice(h data.Host) string {
	err := h.Err
	if err == nil {
		err = h.Status.Err
	}
	if err == nil {
		return "connecting…"
	}
	if k := data.UnknownHostKey(h); k != nil {
		// Subject names the jump host when the key is a ProxyJump hop's:
		// the admin must compare it on that machine, not the hypervisor.
		where := "the host"
		if k.JumpHost != "" {
			where = "jump host " + k.JumpHost
		}
		return model.SafeLines(fmt.Sprintf("unknown SSH host key for %s\n      %s %s\n      Compare it with `ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub` on %s.",
			k.Subject(), k.KeyType, k.Fingerprint, strings.TrimPrefix(k.KeyType, "ssh-"), where))
	}
	msg := model.SafeLines(err.Error())
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOENT) || strings.Contains(msg, "no libvirt socket"):
		return "no libvirt socket: is libvirtd running? `systemctl start libvirtd`\n      (" + msg + ")"
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EACCES) || strings.Contains(msg, "permission denied"):
		return "permission denied: add yourself to the libvirt group (`sudo usermod -aG libvirt $USER`, log in again),\n      run stowage with sudo, or use --readonly\n      (" + msg + ")"
	}
	return msg
}

// View renders the first-run screen.
func View(s *data.Store, km keys.Map, st themes.Styles, width int) string {
	var b strings.Builder
	b.WriteString(st.Title.Render("No libvirt host could be reached yet.") + "\n\n")
	trust := false
	for _, h := range s.Hosts {
		b.WriteString(st.Bad.Render("  ● "+model.SafeText(h.URI)) + "\n")
		b.WriteString(st.Text.Render("      "+Advice(h)) + "\n")
		if data.UnknownHostKey(h) != nil {
			trust = true
		}
		if !h.Status.NextRetry.IsZero() {
			b.WriteString(st.Muted.Render("      next retry at "+h.Status.NextRetry.Format("15:04:05")) + "\n")
		}
		b.WriteString("\n")
	}
	if trust {
		b.WriteString(st.Warn.Render(fmt.Sprintf("  Press %s to trust the host key above (exactly that key is added to known_hosts; if the server shows another key by then, nothing is written), after checking its fingerprint.", km.Trust.Help().Key)) + "\n\n")
	}
	b.WriteString(st.Muted.Render(strings.Join([]string{
		"  Add a host:  stowage --uri qemu+ssh://root@HOST/system   (repeat --uri for several hosts)",
		"               or list them in $XDG_CONFIG_HOME/stowage/config.yaml:",
		"                 hosts:",
		"                   - name: hv1",
		"                     uri: qemu+ssh://root@hv1/system",
		"  Try it without a hypervisor:  stowage --uri test:///default",
		fmt.Sprintf("  %s retries now · %s quits", km.Refresh.Help().Key, km.Quit.Help().Key),
	}, "\n")))
	_ = width
	return b.String()
}
