package cli

import "io"

// STUB (issue 12 scaffolding): replaced by its owner.
func cmdDriveResize(args []string, stdout, stderr io.Writer) int {
	return notBuilt("drive resize")(args, stdout, stderr)
}
