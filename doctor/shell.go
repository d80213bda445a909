package doctor

import "strings"

// Shell quotes s for a POSIX shell when it needs it, so that a fix an
// admin pastes runs as shown: an ssh URI's "?keyfile=…&known_hosts=…"
// would otherwise end the command at the "&", and a name with a space
// would split in two.
func Shell(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_@%+=:,./-", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
