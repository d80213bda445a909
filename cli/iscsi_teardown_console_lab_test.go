package cli

import (
	"reflect"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"stowage/ui/common"
	"stowage/ui/iscsiteardown"
	"stowage/ui/keys/keytest"
)

// feedTeardown runs cmd and what it leads to, feeding the teardown screen
// its own messages (not the cursor's blinks); it returns the PopMsg if
// one came.
func feedTeardown(t *testing.T, c common.Component, cmd tea.Cmd) *common.PopMsg {
	t.Helper()
	if cmd == nil {
		return nil
	}
	msg := cmd()
	switch m := msg.(type) {
	case nil:
		return nil
	case common.PopMsg:
		return &m
	case tea.BatchMsg:
		var pop *common.PopMsg
		for _, sub := range m {
			if p := feedTeardown(t, c, sub); p != nil {
				pop = p
			}
		}
		return pop
	}
	if reflect.TypeOf(msg).PkgPath() != "stowage/ui/iscsiteardown" {
		return nil
	}
	_, next := c.Update(msg)
	return feedTeardown(t, c, next)
}

// TestNestedConsoleISCSITeardown drives the console's teardown screen,
// as the pools view's key opens it (teardownISCSIAction), against the
// nested hypervisor: the preview read from the host names the drive and
// the pools, the typed name runs the teardown through the real backend,
// and the host ends without the pools, the VG and the session.
func TestNestedConsoleISCSITeardown(t *testing.T) {
	l := newTDLab(t)
	n, c, tg, stamp := l.n, l.c, l.tg, l.stamp
	pool, vg := "t-td-ui-"+stamp, "t_tdui"+stamp
	res := tdSetup(t, n, c, tg, vg, pool)
	names := []string{pool, res.ISCSIPool, vg}

	e := consoleEnv(t, []string{n.URI}, cfgNone, true, nil, 15*time.Second)
	open := teardownISCSIAction(e, e.Connector.Conn)
	scr := open(common.DriveTarget{HostURI: n.URI, Pool: pool})
	scr.SetSize(160, 60)
	feedTeardown(t, scr, scr.Init())
	v := scr.View()
	for _, want := range []string{"virsh pool-delete " + pool, "virsh pool-undefine " + res.ISCSIPool, "0 drive(s) in VG " + vg, `Type "` + pool + `"`} {
		if !strings.Contains(v, want) {
			t.Fatalf("preview lacks %q:\n%s", want, v)
		}
	}
	for _, r := range pool {
		scr.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	_, cmd := scr.Update(keytest.Press(e.Keys.Confirm.Confirm))
	if pop := feedTeardown(t, scr, cmd); pop != nil {
		t.Fatal("the run closed the screen by itself")
	}
	v = scr.View()
	if !strings.Contains(v, "torn down: "+pool) {
		t.Fatalf("result:\n%s", v)
	}
	_, cmd = scr.Update(keytest.Press(e.Keys.Progress.Close))
	pop := feedTeardown(t, scr, cmd)
	if pop == nil {
		t.Fatal("close did not close the screen")
	}
	if d, ok := pop.Result.(iscsiteardown.DoneMsg); !ok || d.Err != nil {
		t.Fatalf("pop result %#v", pop.Result)
	}
	if left := tdState(t, n, c, tg, names...); left != "" {
		t.Fatalf("left after the console's teardown:\n%s", left)
	}
	for i, f := range tg.files {
		if !blank(f) {
			t.Errorf("LUN %d keeps a signature", i+1)
		}
	}
}
