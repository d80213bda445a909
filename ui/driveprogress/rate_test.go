package driveprogress

import (
	"strings"
	"testing"
	"time"

	"stowage/drive"
	"stowage/model"
	"stowage/themes"
	"stowage/ui/keys"
)

// A measured step shows its throughput and time left, computed from the
// events' own times.
func TestProgressShowsThroughputAndETA(t *testing.T) {
	plan := []model.Step{{ID: model.StepDownload, Title: "download p/v into f", Measurable: true}}
	p, _ := themes.Lookup("dark")
	m := New("download", plan, nil, themes.Build(p, true), keys.Default().Progress)
	ch := make(chan drive.Event)
	m.events, m.cancel = ch, func() {}
	feed := func(e drive.Event) { m.Update(eventMsg{Route: m.req.Latest(), ch: ch, e: e, ok: true}) }
	feed(drive.Event{Kind: drive.StepStarted, Index: 0, Step: plan[0]})
	feed(drive.Event{Kind: drive.StepProgress, Index: 0, Step: plan[0], Done: 0, Total: 100 << 20, Elapsed: time.Second})
	if v := m.View(); strings.Contains(v, "MiB/s") {
		t.Fatalf("a rate from one report:\n%s", v)
	}
	feed(drive.Event{Kind: drive.StepProgress, Index: 0, Step: plan[0], Done: 20 << 20, Total: 100 << 20, Elapsed: 3 * time.Second})
	v := m.View()
	for _, want := range []string{"20%", "20.0 MiB / 100.0 MiB", "10.0 MiB/s", "ETA 8s"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
}
