package lab

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// lab/test-summary is what makes CI fail: check that it fails on what it
// must (a failure, a data race, a skip not on lab/skip-allow) and passes
// an allowed skip.
func TestSummaryFailsOnUnlistedSkipsAndRaces(t *testing.T) {
	cases := []struct {
		name, in string
		ok       bool
		says     string
	}{
		{"allowed skip", "--- PASS: TestA (0.00s)\n--- SKIP: TestLabDownLeavesNothing (0.00s)\nok  \tx\t1s\n", true, "1 skipped"},
		{"skip not listed", "--- PASS: TestA (0.00s)\n    --- SKIP: TestB/sub (0.00s)\nok  \tx\t1s\n", false, "skip not allowed (add it to lab/skip-allow with the reason, or make it run): TestB/sub"},
		{"data race", "WARNING: DATA RACE\nRead at 0x00c000\nok  \tx\t1s\n", false, "1 data races"},
		{"failed test", "--- FAIL: TestA (0.00s)\nFAIL\tx\t1s\n", false, "1 failed"},
		// CI shows only the summary's output: a failure carries what the
		// test logged (from any file, under mawk too), a pass does not.
		{"failure's cause", "=== RUN   TestA\n    helper.go:12: the cause\n        its next line\n--- FAIL: TestA (0.00s)\nFAIL\tx\t1s\n", false, "    helper.go:12: the cause\n        its next line\n--- FAIL: TestA"},
		{"pass stays quiet", "=== RUN   TestA\n    a_test.go:3: chatter\n--- PASS: TestA (0.00s)\nok  \tx\t1s\n", true, "ok  \tx"},
	}
	for _, c := range cases {
		cmd := exec.Command(filepath.Join(Dir(), "test-summary"))
		cmd.Stdin = strings.NewReader(c.in)
		out, err := cmd.CombinedOutput()
		if (err == nil) != c.ok || !strings.Contains(string(out), c.says) || c.ok && strings.Contains(string(out), "chatter") {
			t.Errorf("%s: exit error %v, output:\n%s\nwant ok=%v and %q", c.name, err, out, c.ok, c.says)
		}
	}
}
