package cli

import "io"

// STUB (issue 12 scaffolding): replaced by its owner.
func iscsiTeardown(args []string, stdout, stderr io.Writer) int {
	return notBuilt("iscsi teardown")(args, stdout, stderr)
}
