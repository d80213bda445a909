package drivewizard

import (
	"context"
	"strings"
	"testing"

	"stowage/drive"
	"stowage/model"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/driveprogress"
)

const (
	badPool = "pool\u009b31m"
	badVM   = "vm\x7f"
)

// oddNames is a host whose pool and VM names carry a C1 CSI and a DEL.
type oddNames struct{ fakeBackend }

func (o *oddNames) Pools(context.Context) ([]model.Pool, error) {
	return []model.Pool{{Name: badPool, Type: model.PoolDir, Active: true, Available: 1 << 30}}, nil
}
func (o *oddNames) DomainNames(context.Context) ([]string, error) { return []string{badVM}, nil }

func assertEscaped(t *testing.T, what, v string, want ...string) {
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

// Pool and VM names from libvirt reach the form's options and the review
// escaped; the values the workflow gets stay the names libvirt gave.
func TestWizardEscapesControlCharactersInNames(t *testing.T) {
	p, _ := themes.Lookup("dark")
	fb := &oddNames{}
	w := New(Deps{Styles: themes.Build(p, true), Backend: func(string) (driveprogress.Backend, error) { return fb, nil }},
		common.DriveTarget{HostURI: "h"}).(*Wizard)
	w.SetSize(120, 60)
	w.Update(w.Init()())
	if w.pool != badPool {
		t.Fatalf("the pool value is %q, not the name libvirt gave", w.pool)
	}
	assertEscaped(t, "the form", w.View(), `pool\u009b31m`)
	w.vm = badVM
	w.prepared = drive.Prepared{Spec: model.DriveSpec{Pool: badPool, Name: "d1", Size: 1 << 20, Format: "raw", AttachVM: badVM},
		Target: "vdb", Plan: []model.Step{{ID: model.StepCreateVolume, Title: "create volume d1 in " + badPool}},
		Warnings: []string{"VM " + badVM + " is running"}}
	w.phase = review
	assertEscaped(t, "the review", w.View(), `pool\u009b31m/d1`, `attach to vm\x7f`, `create volume d1 in pool\u009b31m`, `VM vm\x7f is running`)
}

// The attach form shows VM names and the volume escaped.
func TestAttachEscapesControlCharactersInNames(t *testing.T) {
	a := &Attacher{at: common.DriveTarget{HostURI: "h", Pool: badPool, Volume: "v\x7f"}}
	a.SetSize(120, 40)
	a.Update(attachLoaded{Route: a.req.Latest(), vms: []string{badVM}})
	assertEscaped(t, "the attach form", a.View(), `Attach pool\u009b31m/v\x7f to`, `vm\x7f`)
}
