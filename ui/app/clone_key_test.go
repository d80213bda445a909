package app

import (
	"strings"
	"testing"

	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/keys"
)

// The clone key is offered on a volume row and opens the clone screen on
// that volume; with a nil action (--readonly) it is neither offered nor
// acted on.
func TestCloneKeyOnAVolumeRow(t *testing.T) {
	km := keys.Default()
	if km.Dangerous(km.CloneDrive) {
		t.Fatal("clone is marked dangerous: it overwrites nothing")
	}
	f := &fake{uris: []string{"test:///one"}, parts: [][]model.Part{labHost()}, err: []error{nil}}
	var got common.DriveTarget
	m := newModel(t, f, common.Actions{CloneDrive: func(at common.DriveTarget) common.Component {
		got = at
		return &stubScreen{title: "clone drive"}
	}})
	press(t, m, km.Enter) // the dir pool's volumes
	if !strings.Contains(m.HelpText(), km.CloneDrive.Help().Desc) {
		t.Fatalf("clone not offered on a volume:\n%s", m.HelpText())
	}
	press(t, m, km.CloneDrive)
	if s, ok := m.Top().(*stubScreen); !ok || s.title != "clone drive" {
		t.Fatalf("the clone key pushed %T", m.Top())
	}
	if got.HostURI != "test:///one" || got.Pool == "" || got.Volume == "" {
		t.Errorf("clone screen opened on %+v; want the selected volume", got)
	}

	ro := newModel(t, &fake{uris: []string{"test:///one"}, parts: [][]model.Part{labHost()}, err: []error{nil}}, common.Actions{})
	press(t, ro, km.Enter)
	if strings.Contains(ro.HelpText(), km.CloneDrive.Help().Desc) {
		t.Errorf("clone offered without the action (--readonly):\n%s", ro.HelpText())
	}
	before := ro.Top()
	press(t, ro, km.CloneDrive)
	if ro.Top() != before {
		t.Errorf("the clone key acted without the action: top %T", ro.Top())
	}
}
