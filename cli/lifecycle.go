package cli

// The storage lifecycle's headless verbs (issue 12). Each lives in its own
// file: pool actions (pool_actions.go), pool define (pool_define.go),
// drive resize (drive_resize.go), clone (drive_clone.go), wipe, upload
// and download (drive_transfer.go), iscsi teardown (iscsi_teardown.go).

import (
	"fmt"
	"io"
)

const poolUsage = `stowage pool: the whole life of a storage pool, headlessly.

Usage:
  stowage pool define --type T --name N …      define (and build, start) a pool of any type:
        dir, fs, netfs, logical, disk, rbd, iscsi, iscsi-direct
  stowage pool sources --type netfs|logical|iscsi|iscsi-direct|devices [--host H | --portal P]
        what the host can define a pool on: NFS exports, VGs, targets, block devices
  stowage pool start --name N [--uri U]          start a pool
  stowage pool stop --name N --confirm N         stop it (refused while a running VM uses it)
  stowage pool refresh --name N                  rescan a running pool's volumes
  stowage pool autostart --name N [--off]        start it with libvirtd (or not)
  stowage pool build --name N [--overwrite --confirm N]
                                                 build a stopped pool (overwrite: wipe its devices)
  stowage pool delete --name N --confirm N       delete its storage (empty, unused pools only)
  stowage pool undefine --name N --confirm N     forget it (stops it first; storage stays)
Each takes --uri U, --json, --timeout D, --readonly.

Run stowage pool VERB --help for a verb's flags.
`

// runPool dispatches `stowage pool VERB`.
func runPool(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprint(stderr, poolUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	verbs := map[string]Command{
		"define":    cmdPoolDefine,
		"sources":   cmdPoolSources,
		"start":     poolAction("start"),
		"stop":      poolAction("stop"),
		"refresh":   poolAction("refresh"),
		"autostart": poolAction("autostart"),
		"build":     poolAction("build"),
		"delete":    poolAction("delete"),
		"undefine":  poolAction("undefine"),
	}
	cmd, ok := verbs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "stowage pool: unknown verb %q\n\n%s", args[0], poolUsage)
		return 2
	}
	return cmd(args[1:], stdout, stderr)
}

// driveLifecycleVerbs are the drive verbs that parse their own flags.
func driveLifecycleVerbs() map[string]Command {
	return map[string]Command{
		"resize":   cmdDriveResize,
		"clone":    cmdDriveClone,
		"wipe":     cmdDriveWipe,
		"upload":   cmdDriveUpload,
		"download": cmdDriveDownload,
	}
}
