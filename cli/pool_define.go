package cli

import "io"

// STUB (issue 12 scaffolding): replaced by its owner.
func cmdPoolDefine(args []string, stdout, stderr io.Writer) int {
	return notBuilt("pool define")(args, stdout, stderr)
}
