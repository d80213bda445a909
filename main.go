// Command stowage is a terminal console for storage administration of
// libvirt/KVM hosts. main holds the wiring only: the commands, their flags
// and the environment they share live in stowage/cli.
package main

import (
	"io"
	"os"

	"stowage/cli"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	return cli.Run(args, stdout, stderr, map[string]cli.Command{"inventory": cmdInventory})
}
