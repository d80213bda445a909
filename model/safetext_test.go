package model

import "testing"

func TestSafeText(t *testing.T) {
	for _, c := range []struct{ in, want, lines string }{
		{"plain-name_1.qcow2", "plain-name_1.qcow2", "plain-name_1.qcow2"},
		{"vol\x1b[31mred", `vol\x1b[31mred`, `vol\x1b[31mred`},
		{"a\x00b\x07c\x7f", `a\x00b\x07c\x7f`, `a\x00b\x07c\x7f`},
		{"two\nlines\tand tab\r", `two\x0alines\x09and tab\x0d`, "two\nlines\tand tab\\x0d"},
		{"csi\u009b2J", `csi\u009b2J`, `csi\u009b2J`},
		{"bad\xffutf8\xc3", `bad\xffutf8\xc3`, `bad\xffutf8\xc3`},
		{"rtl\u202eevil", `rtl\u202eevil`, `rtl\u202eevil`},
		{"Größe 東京 ✓ émoji 🙂", "Größe 東京 ✓ émoji 🙂", "Größe 東京 ✓ émoji 🙂"},
		{`back\slash`, `back\slash`, `back\slash`},
		{"", "", ""},
	} {
		if got := SafeText(c.in); got != c.want {
			t.Errorf("SafeText(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := SafeLines(c.in); got != c.lines {
			t.Errorf("SafeLines(%q) = %q, want %q", c.in, got, c.lines)
		}
	}
}

func TestSafeTextNoAllocWhenClean(t *testing.T) {
	s := "stowage-lab-dir"
	if n := testing.AllocsPerRun(100, func() { _ = SafeText(s) }); n != 0 {
		t.Errorf("SafeText of a clean name allocated %v times", n)
	}
}
