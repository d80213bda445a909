package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// config is $XDG_CONFIG_HOME/stowage/config.yaml. Precedence: flag, then
// environment, then this file, then defaults. Loading never writes files.
type config struct {
	Hosts []hostConfig `yaml:"hosts"`
	Theme string       `yaml:"theme"`
	// Timeout bounds each libvirt call ("15s").
	Timeout duration `yaml:"timeout"`
	// Refresh is how often pools and volumes are polled ("5s").
	Refresh duration `yaml:"refresh"`
	// Keys remaps actions by name: {"describe": ["d", "enter"]}.
	Keys map[string][]string `yaml:"keys"`
}

// hostConfig is one host of the config file.
type hostConfig struct {
	Name string `yaml:"name"`
	URI  string `yaml:"uri"`
	// CephConf and CephKeyring reach the Ceph cluster of this host's rbd
	// pools when the cephx key cannot be read back from libvirt (a private
	// secret); used for librbd encryption.
	CephConf    string `yaml:"ceph_conf"`
	CephKeyring string `yaml:"ceph_keyring"`
}

type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v <= 0 {
		return fmt.Errorf("line %d: %q is not a positive duration (write e.g. 15s or 1m)", n.Line, n.Value)
	}
	*d = duration(v)
	return nil
}

// configPath is where the config lives: $XDG_CONFIG_HOME/stowage/config.yaml,
// else ~/.config/stowage/config.yaml.
func configPath() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "stowage", "config.yaml")
}

// loadConfig reads the config; a missing file is an empty config, a
// malformed one an error that names the file, line and problem.
func loadConfig(path string) (config, error) {
	var c config
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	for i, h := range c.Hosts {
		if h.URI == "" {
			return c, fmt.Errorf("config %s: hosts[%d] (%q) has no uri", path, i, h.Name)
		}
	}
	return c, nil
}
