package driveprogress

import (
	"errors"
	"strings"
	"testing"

	"stowage/drive"
	"stowage/model"
	"stowage/themes"
	"stowage/ui/keys"
)

// A volume name with a C1 CSI (U+009B) or DEL in it reaches the screen
// escaped in the title, the step lines, their notes, the error and the
// report printed after a quit: raw, it would recolour the terminal.
func TestProgressEscapesControlCharactersInNames(t *testing.T) {
	const name = "vol\u009b31m\x7f"
	plan := []model.Step{{ID: model.StepCreateVolume, Title: "create volume " + name}}
	p, _ := themes.Lookup("dark")
	m := New("create drive "+name, plan, nil, themes.Build(p, true), keys.Default().Progress)
	m.SetSize(200, 40)
	ch := make(chan drive.Event)
	m.events, m.cancel = ch, func() {}
	feed := func(e drive.Event) { m.Update(eventMsg{Route: m.req.Latest(), ch: ch, e: e, ok: true}) }
	feed(drive.Event{Kind: drive.StepStarted, Index: 0, Step: plan[0]})
	feed(drive.Event{Kind: drive.StepRetrying, Index: 0, Step: plan[0], Note: "retry " + name})
	report := m.LeftReport()
	feed(drive.Event{Kind: drive.StepFailed, Index: 0, Step: plan[0], Err: errors.New("pool has " + name)})
	feed(drive.Event{Kind: drive.RollbackStarted, Note: "rolling back " + name})
	m.Update(finishedMsg{Route: m.req.Latest(), ch: ch, err: errors.New("create " + name + " failed")})
	const escaped = `vol\u009b31m\x7f`
	for what, text := range map[string]string{"view": m.View(), "title": m.Title(), "report": report} {
		if strings.ContainsAny(text, "\u009b\x7f") {
			t.Errorf("%s holds a raw control character:\n%q", what, text)
		}
		if !strings.Contains(text, escaped) {
			t.Errorf("%s does not show the name escaped:\n%s", what, text)
		}
	}
	if v := m.View(); strings.Count(v, escaped) < 6 {
		t.Errorf("want the escaped name in title, step, retry, note, rollback note and error:\n%s", v)
	}
}
