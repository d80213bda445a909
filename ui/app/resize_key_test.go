package app

import (
	"strings"
	"testing"

	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/keys"
)

// The resize key opens the resize screen for the volume under the cursor
// and is absent from the help when the action is nil (--readonly).
func TestResizeKeyOnVolume(t *testing.T) {
	km := keys.Default()
	f := &fake{uris: []string{"test:///one"}, parts: [][]model.Part{labHost()}, err: []error{nil}}
	var got common.DriveTarget
	m := newModel(t, f, common.Actions{ResizeDrive: func(at common.DriveTarget) common.Component {
		got = at
		return &stubScreen{title: "resize drive"}
	}})
	press(t, m, km.Enter) // the dir pool's volumes
	if !strings.Contains(m.HelpText(), km.ResizeDrive.Help().Desc) {
		t.Fatalf("resize not offered on a volume:\n%s", m.HelpText())
	}
	press(t, m, km.ResizeDrive)
	if s, ok := m.Top().(*stubScreen); !ok || s.title != "resize drive" {
		t.Fatalf("resize key pushed %T", m.Top())
	}
	if got.HostURI != "test:///one" || got.Pool != "default" || got.Volume != "a.qcow2" {
		t.Errorf("resize opened for %+v", got)
	}

	ro := newModel(t, &fake{uris: []string{"test:///one"}, parts: [][]model.Part{labHost()}, err: []error{nil}}, common.Actions{})
	press(t, ro, km.Enter)
	if strings.Contains(ro.HelpText(), km.ResizeDrive.Help().Desc) {
		t.Errorf("resize offered with a nil action (--readonly):\n%s", ro.HelpText())
	}
}
