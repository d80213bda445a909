package env

import (
	"runtime/debug"
	"testing"
)

func TestTuneConsoleGCLeavesTheAdminsGOGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "200")
	debug.SetGCPercent(200) // what the runtime read from GOGC at start
	if got := TuneConsoleGC(); got != 200 {
		t.Errorf("GOGC=200 in the environment: %d in force, want 200", got)
	}
	t.Setenv("GOGC", "")
	if got := TuneConsoleGC(); got != ConsoleGCPercent {
		t.Errorf("no GOGC: %d in force, want %d", got, ConsoleGCPercent)
	}
	if p := debug.SetGCPercent(100); p != ConsoleGCPercent {
		t.Errorf("the runtime's GC percent is %d, want %d", p, ConsoleGCPercent)
	}
}
