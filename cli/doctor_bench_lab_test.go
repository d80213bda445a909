package cli

import (
	"context"
	"testing"
	"time"

	"stowage/cli/env"
	"stowage/lab"
)

// BenchmarkDoctorLabHost is one `stowage doctor` diagnosis of the lab
// host (its inventory, the libvirt checks and the Ceph checks of its rbd
// pool), from dial to sorted findings. Issue 13's bound is 2 s:
//
//	STOWAGE_LAB=require go test -run '^$' -bench DoctorLabHost -benchtime 10x ./cli/
func BenchmarkDoctorLabHost(b *testing.B) {
	l := lab.Need(b)
	b.Setenv("XDG_CONFIG_HOME", b.TempDir())
	b.Setenv("XDG_STATE_HOME", b.TempDir())
	e, err := env.Load(env.Flags{URIs: []string{l.URI}})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	var worst time.Duration
	for b.Loop() {
		start := time.Now()
		fs := diagnose(context.Background(), e, e.Hosts)
		worst = max(worst, time.Since(start))
		for _, f := range fs {
			if f.Check == "host.unreachable" {
				b.Fatalf("the lab host is unreachable: %s", f.Evidence)
			}
		}
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}
