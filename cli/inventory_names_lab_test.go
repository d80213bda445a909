package cli

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"stowage/lab"
)

// invEscName is a volume name libvirt accepts (XML 1.0 allows C1 controls,
// DEL and bidi overrides; it refuses ESC itself): an 8-bit CSI that sets
// red on terminals that honour C1, a DEL, and a right-to-left override
// that reverses what follows.
const (
	invEscName    = "t-esc-\u009b31m\x7f\u202ex"
	invEscShown   = `t-esc-\u009b31m\x7f\u202ex`
	invEscPattern = "t-esc-"
)

// TestLabNamesWithControlCharacters creates, as a second admin with
// virsh, a volume on the lab's dir pool whose name carries control
// characters. `stowage inventory` prints it escaped in its tables and
// exact in JSON (the console's side is cli's
// TestLabConsoleNamesWithControlCharacters).
func TestLabNamesWithControlCharacters(t *testing.T) {
	env := lab.Need(t)
	virsh := func(args ...string) (string, error) {
		out, err := exec.Command("virsh", append([]string{"-c", env.URI}, args...)...).CombinedOutput()
		return string(out), err
	}
	virsh("vol-delete", "--pool", env.DirPool, invEscName)
	if out, err := virsh("vol-create-as", env.DirPool, invEscName, "1M", "--format", "raw"); err != nil {
		t.Fatalf("virsh vol-create-as with control characters in the name: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := virsh("vol-delete", "--pool", env.DirPool, invEscName); err != nil {
			t.Errorf("cleanup: %v: %s", err, out)
		}
	})

	var out, errb bytes.Buffer
	if rc := cmdInventory([]string{"--uri", env.URI}, &out, &errb); rc != 0 {
		t.Logf("inventory exit %d: %s", rc, errb.String())
	}
	if !strings.Contains(out.String(), invEscShown) {
		t.Errorf("inventory text does not show %s escaped:\n%s", invEscShown, grepLines(out.String(), invEscPattern))
	}
	if raw := rawControls(out.String() + errb.String()); len(raw) > 0 {
		t.Errorf("inventory text carries raw %v:\n%q", raw, grepLines(out.String(), invEscPattern))
	}

	out.Reset()
	errb.Reset()
	cmdInventory([]string{"--uri", env.URI, "--json"}, &out, &errb)
	var doc struct {
		Hosts []struct {
			Pools []struct {
				Volumes []struct {
					Name string `json:"name"`
				} `json:"volumes"`
			} `json:"pools"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("inventory --json: %v", err)
	}
	exact := false
	for _, h := range doc.Hosts {
		for _, p := range h.Pools {
			for _, v := range p.Volumes {
				exact = exact || v.Name == invEscName
			}
		}
	}
	if !exact {
		t.Error("inventory --json does not carry the name exactly")
	}
}
