package cli

import "io"

// STUB (issue 12 scaffolding): replaced by its owner.
func cmdDriveClone(args []string, stdout, stderr io.Writer) int {
	return notBuilt("drive clone")(args, stdout, stderr)
}
