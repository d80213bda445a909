package cli

import "io"

// STUB (issue 12 scaffolding): replaced by its owner.
func cmdDriveWipe(args []string, stdout, stderr io.Writer) int {
	return notBuilt("drive wipe")(args, stdout, stderr)
}

// STUB (issue 12 scaffolding): replaced by its owner.
func cmdDriveUpload(args []string, stdout, stderr io.Writer) int {
	return notBuilt("drive upload")(args, stdout, stderr)
}

// STUB (issue 12 scaffolding): replaced by its owner.
func cmdDriveDownload(args []string, stdout, stderr io.Writer) int {
	return notBuilt("drive download")(args, stdout, stderr)
}
