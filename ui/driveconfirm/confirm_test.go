package driveconfirm

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"stowage/drive"
	"stowage/model"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/driveprogress"
	"stowage/ui/drivewizard"
	"stowage/ui/keys"
	"stowage/ui/keys/keytest"
)

// fakeBackend records deletes; every other call is unused here.
type fakeBackend struct {
	driveprogress.Backend
	deleted []string
}

func (f *fakeBackend) Delete(_ context.Context, pool, name string, _ chan<- drive.Event) (drive.Result, error) {
	f.deleted = append(f.deleted, pool+"/"+name)
	return drive.Result{Pool: pool, Name: name}, nil
}

func typeText(c common.Component, s string) common.Component {
	for _, r := range s {
		c, _ = c.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return c
}

func TestDeleteNeedsTheTypedName(t *testing.T) {
	fb := &fakeBackend{}
	p, _ := themes.Lookup("dark")
	d := drivewizard.Deps{Styles: themes.Build(p, true), Backend: func(string) (driveprogress.Backend, error) { return fb, nil }}
	c := NewDelete(d, common.DriveTarget{HostURI: "h", Pool: "pool", Volume: "data"}).(*Confirm)
	enter := keytest.Press(c.keys.Confirm)
	typeText(c, "dat")
	if _, cmd := c.Update(enter); cmd != nil || c.progress != nil || !strings.Contains(c.View(), `type "data" exactly`) {
		t.Fatalf("a wrong name started the delete:\n%s", c.View())
	}
	typeText(c, "a")
	_, cmd := c.Update(enter)
	if c.progress == nil || cmd == nil {
		t.Fatal("the right name did not start the delete")
	}
	// Run the workflow the progress view started.
	batch := cmd().(tea.BatchMsg)
	batch[0]()
	if len(fb.deleted) != 1 || fb.deleted[0] != "pool/data" {
		t.Errorf("deleted %v; want pool/data", fb.deleted)
	}
	if c.ShortHelp()[0].Help().Desc != "cancel and roll back" && !c.progress.Finished() {
		t.Errorf("help does not follow the progress view: %+v", c.ShortHelp())
	}
}

func TestDetachModeCycles(t *testing.T) {
	p, _ := themes.Lookup("dark")
	c := NewDetach(drivewizard.Deps{Styles: themes.Build(p, true)}, common.DriveTarget{VM: "vm", Disk: "vdb"}).(*Confirm)
	if c.modes[c.mode] != (model.AttachMode{Live: true, Persistent: true}) {
		t.Fatal("detach does not default to live+persistent")
	}
	c.Update(keytest.Press(c.keys.Mode))
	if c.modes[c.mode] != (model.AttachMode{Live: true}) || strings.Contains(c.View(), "live+persistent") {
		t.Errorf("tab did not switch to live:\n%s", c.View())
	}
}

// The refusal of a wrong name stays until the admin types again: the
// cursor's blink, a refresh of the list below or any other message must
// not wipe it before it can be read.
func TestRefusalStaysUntilTyping(t *testing.T) {
	p, _ := themes.Lookup("dark")
	c := NewDelete(drivewizard.Deps{Styles: themes.Build(p, true)}, common.DriveTarget{HostURI: "h", Pool: "pool", Volume: "data"}).(*Confirm)
	typeText(c, "dat")
	c.Update(keytest.Press(c.keys.Confirm))
	c.Update(c.Init()()) // the cursor starts blinking
	c.Update(struct{}{}) // any other message
	if !strings.Contains(c.View(), `type "data" exactly`) {
		t.Fatalf("the refusal vanished without a keystroke:\n%s", c.View())
	}
	typeText(c, "a")
	if strings.Contains(c.View(), "exactly") {
		t.Errorf("the refusal stays after typing:\n%s", c.View())
	}
}

// The confirmation's keys and hint are the keymap's: a remapped confirm
// key is the one shown and the one that confirms.
func TestRemappedConfirmKeyIsHintedAndConfirms(t *testing.T) {
	km := keys.Default()
	if err := km.Remap(map[string][]string{"confirm.confirm": {"ctrl+y"}}); err != nil {
		t.Fatal(err)
	}
	fb := &fakeBackend{}
	p, _ := themes.Lookup("dark")
	d := drivewizard.Deps{Styles: themes.Build(p, true), Keys: km, Backend: func(string) (driveprogress.Backend, error) { return fb, nil }}
	c := NewDelete(d, common.DriveTarget{HostURI: "h", Pool: "pool", Volume: "data"}).(*Confirm)
	if v := c.View(); !strings.Contains(v, "ctrl+y: confirm · esc: cancel") {
		t.Fatalf("hint does not follow the remap:\n%s", v)
	}
	typeText(c, "data")
	if c.Update(keytest.Press(keys.Default().Confirm.Confirm)); c.progress != nil {
		t.Fatal("the default confirm key still confirms after the remap")
	}
	if _, cmd := c.Update(keytest.Press(km.Confirm.Confirm)); cmd == nil || c.progress == nil {
		t.Fatal("the remapped key did not confirm")
	}
}
