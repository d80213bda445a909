package cli

import (
	"reflect"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"stowage/lab"
	"stowage/ui/common"
	"stowage/ui/keys/keytest"
)

// drain runs cmd and what its batches hold, feeding every message but a
// PopMsg back to c; it returns the PopMsg if one came.
func drain(t *testing.T, c common.Component, cmd tea.Cmd) (common.Component, *common.PopMsg) {
	t.Helper()
	if cmd == nil {
		return c, nil
	}
	msg := cmd()
	if pop, ok := msg.(common.PopMsg); ok {
		return c, &pop
	}
	if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice {
		var popped *common.PopMsg
		for i := range v.Len() {
			if sub, ok := v.Index(i).Interface().(tea.Cmd); ok {
				var p *common.PopMsg
				if c, p = drain(t, c, sub); p != nil {
					popped = p
				}
			}
		}
		return c, popped
	}
	if msg == nil {
		return c, nil
	}
	// Only the wizard's own results: a cursor blink would re-arm forever.
	if reflect.TypeOf(msg).PkgPath() != "stowage/ui/iscsiwizard" {
		return c, nil
	}
	c, cmd = c.Update(msg)
	return drain(t, c, cmd)
}

// The LVM-on-iSCSI wizard's own connection is closed when its screen
// closes: opening and closing the wizard again and again leaves no
// connection open (a connector that kept them, as the console once did,
// would count one more per opening).
func TestLabLVMOnISCSIWizardClosesItsConnection(t *testing.T) {
	env := lab.Need(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	e := consoleEnv(t, []string{env.URI}, cfgNone, true, nil, 15*time.Second)
	open := lvmOnISCSIAction(e, e.Connector.Conn, nil)
	for i := range 3 {
		// Opened from a pool: Init reads the pool on the wizard's connection.
		w := open(common.DriveTarget{HostURI: env.URI, Pool: env.DirPool})
		w, _ = drain(t, w, w.Init())
		if n := e.Connector.Open(); n != 1 {
			t.Fatalf("opening %d: %d connections open with the wizard on screen; want its own, 1", i, n)
		}
		w, cmd := w.Update(keytest.Press(e.Keys.ISCSI.Back))
		if _, pop := drain(t, w, cmd); pop == nil {
			t.Fatalf("opening %d: back on the first stage did not close the wizard", i)
		}
		if n := e.Connector.Open(); n != 0 {
			t.Fatalf("opening %d: %d connections left open after the wizard closed", i, n)
		}
	}
}
