package render

import (
	"fmt"
	"strings"

	"stowage/model"
)

// DoctorBanner is the hosts screen's line that counts the doctor's open
// findings (warning and above; the critical ones among them) on the hosts
// read so far (read of them); key is the diagnose key.
func DoctorBanner(open, critical, read int, key string) (string, Mark) {
	switch {
	case read == 0:
		return "doctor: waiting for the hosts' first read", Idle
	case open == 0:
		return fmt.Sprintf("doctor: no open findings on %s", plural(read, "host")), Fine
	}
	text := fmt.Sprintf("doctor: %s (%d critical) · %s on a host, pool, drive or VM lists them with their fix",
		plural(open, "open finding"), critical, model.SafeText(key))
	if critical > 0 {
		return text, Broken
	}
	return text, Attention
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// FindingMark is how a finding of severity s reads.
func FindingMark(s model.Severity) Mark {
	switch {
	case s >= model.SeverityCritical:
		return Broken
	case s >= model.SeverityWarning:
		return Attention
	}
	return Plain
}

// FindingText is one finding's words, escaped: its heading (severity and
// object) and its lines (what is wrong, the evidence, the fix).
func FindingText(f model.Finding) (heading string, lines []string) {
	heading = fmt.Sprintf("%-8s %s", strings.ToUpper(f.Severity.String()), model.SafeText(f.Object))
	lines = []string{model.SafeText(f.Message), "evidence: " + model.SafeText(f.Evidence)}
	if f.Fix != "" {
		lines = append(lines, "fix: "+model.SafeText(f.Fix))
	}
	return heading, lines
}
