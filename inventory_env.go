package main

import (
	"strings"

	"stowage/cli/env"
)

// What cmd_inventory.go takes from the shared environment while it still
// lives in package main (it moves to cli with its render package): the
// config file, the host list and the CPU share. Remove with the move.

type uriList []string

func (u *uriList) String() string     { return strings.Join(*u, ",") }
func (u *uriList) Set(s string) error { *u = append(*u, s); return nil }

func configPath() string { return env.ConfigPath() }

func loadConfig(path string) (env.Config, error) { return env.LoadConfig(path) }

func shareCPUWithLocalDaemon(uris []string, readonly bool) int {
	return env.ShareCPUWithLocalDaemon(uris, readonly)
}
