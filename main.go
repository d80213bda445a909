// Command stowage is a terminal console for storage administration of
// libvirt/KVM hosts. main holds the wiring only: the commands, their flags
// and the environment they share live in stowage/cli.
package main

import (
	"os"

	"stowage/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
