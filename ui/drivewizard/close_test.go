package drivewizard

import (
	"testing"

	tea "charm.land/bubbletea/v2"

	"stowage/ui/common"
	"stowage/ui/keys"
	"stowage/ui/keys/keytest"
)

// Cancelling the form pops the wizard once: a message that reaches it
// before the pop is handled (a select's options loading) must not pop the
// screen below it too (seen on a slow host: the LVM-on-iSCSI wizard under
// the drive wizard closed with it, without its result).
func TestCancelPopsOnce(t *testing.T) {
	w := open(t, &fakeBackend{}, common.DriveTarget{HostURI: "test:///default", Pool: "default"})
	_, cmd := w.Update(keytest.Press(keys.Default().Form.Cancel))
	if cmd == nil {
		t.Fatal("cancel did nothing")
	}
	if _, ok := cmd().(common.PopMsg); !ok {
		t.Fatalf("cancel led to %T", cmd())
	}
	if _, cmd := w.Update(tea.WindowSizeMsg{Width: 80, Height: 24}); cmd != nil {
		t.Fatalf("a message after the cancel led to %T", cmd())
	}
	if _, cmd := w.Update(struct{}{}); cmd != nil {
		t.Fatalf("a message after the cancel led to %T", cmd())
	}
}
