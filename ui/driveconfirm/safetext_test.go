package driveconfirm

import (
	"errors"
	"strings"
	"testing"

	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/driveprogress"
	"stowage/ui/drivewizard"
	"stowage/ui/keys/keytest"
)

// A drive or VM name with a C1 CSI or DEL in it is shown escaped: in the
// question, in the placeholder, in a refusal and in a backend error.
func TestConfirmEscapesControlCharactersInNames(t *testing.T) {
	p, _ := themes.Lookup("dark")
	d := drivewizard.Deps{Styles: themes.Build(p, true), Backend: func(string) (driveprogress.Backend, error) {
		return nil, errors.New("no host for pool\u009b31m")
	}}
	check := func(what, v string, want ...string) {
		t.Helper()
		if strings.ContainsAny(v, "\u009b\x7f") {
			t.Errorf("%s holds a raw control character:\n%q", what, v)
		}
		for _, w := range want {
			if !strings.Contains(v, w) {
				t.Errorf("%s does not show %s:\n%s", what, w, v)
			}
		}
	}
	c := NewDelete(d, common.DriveTarget{HostURI: "h", Pool: "pool\u009b31m", Volume: "data\x7f"}).(*Confirm)
	check("the question", c.View(), `Delete drive pool\u009b31m/data\x7f`, `data\x7f`)
	typeText(c, "data")
	c.Update(keytest.Press(c.keys.Confirm))
	check("the refusal", c.View(), `type "data\x7f" exactly`)
	// A backend error names the pool.
	c = NewDelete(d, common.DriveTarget{HostURI: "h", Pool: "pool\u009b31m", Volume: "data"}).(*Confirm)
	typeText(c, "data")
	c.Update(keytest.Press(c.keys.Confirm))
	check("the backend error", c.View(), `no host for pool\u009b31m`)

	v := NewDetach(d, common.DriveTarget{HostURI: "h", VM: "vm\x7f", Disk: "vdb"}).(*Confirm)
	check("the detach question", v.View(), `Detach vdb from vm\x7f`)
}
