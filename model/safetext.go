package model

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// SafeText returns s as it may be written to a terminal: every control
// character is shown escaped instead of being sent raw, so a pool,
// volume, VM, secret or image name from libvirt or Ceph cannot move the
// cursor, recolour the screen, set the window title or hide text.
//
//   - C0 controls (NUL…US, ESC among them), DEL and invalid UTF-8 bytes
//     become \x1b, \x7f, \xff;
//   - C1 controls (U+0080…U+009F, CSI U+009B among them), the bidi
//     overrides and isolates (U+202A…U+202E, U+2066…U+2069, which reorder
//     what the admin reads) and the line and paragraph separators become
//     \u009b, \u202e, \u2028;
//   - everything else, all ordinary Unicode included, is kept as it is.
//
// A string that needs nothing is returned unchanged, without allocating.
// Backslashes are kept: the escapes are for people to read, not to parse.
func SafeText(s string) string { return safe(s, false) }

// SafeLines is SafeText for multi-line text (describe views, wrapped
// error messages): newlines and tabs are kept, every other control is
// escaped.
func SafeLines(s string) string { return safe(s, true) }

func safe(s string, lines bool) string {
	i := firstUnsafe(s, lines)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r, lines) && r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r, lines):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// firstUnsafe is the byte offset of the first character SafeText would
// escape, or -1.
func firstUnsafe(s string, lines bool) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n <= 1) || unsafeRune(r, lines) {
			return i
		}
		i += n
	}
	return -1
}

func unsafeRune(r rune, lines bool) bool {
	switch {
	case lines && (r == '\n' || r == '\t'):
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x2028, r == 0x2029:
		return true
	}
	return false
}
