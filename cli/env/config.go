package env

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

// Config is $XDG_CONFIG_HOME/stowage/config.yaml: the file layer of the
// precedence (flag, then environment, then this file, then defaults).
// Loading never writes files.
type Config struct {
	Hosts []HostConfig `yaml:"hosts"`
	Theme string       `yaml:"theme"`
	// Timeout bounds each libvirt call ("15s").
	Timeout Duration `yaml:"timeout"`
	// Refresh is how often pools and volumes are polled ("5s").
	Refresh Duration `yaml:"refresh"`
	// Keys remaps actions by name: {"describe": ["d", "enter"]}.
	Keys map[string][]string `yaml:"keys"`
}

// HostConfig is one host of the config file.
type HostConfig struct {
	Name string `yaml:"name"`
	URI  string `yaml:"uri"`
	// CephConf and CephKeyring reach the Ceph cluster of this host's rbd
	// pools when the cephx key cannot be read back from libvirt (a private
	// secret); used for librbd encryption.
	CephConf    string `yaml:"ceph_conf"`
	CephKeyring string `yaml:"ceph_keyring"`
}

// Duration is a positive time.Duration written as "15s" or "1m".
type Duration time.Duration

// UnmarshalYAML refuses anything but a positive duration, naming the line.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v <= 0 {
		return fmt.Errorf("line %d: %q is not a positive duration (write e.g. 15s or 1m)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// ConfigDir is $XDG_CONFIG_HOME/stowage, else ~/.config/stowage: the
// config file and the user themes (themes/NAME.yaml) live there.
func ConfigDir(getenv func(string) string) string {
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "stowage")
}

// ConfigPath is where the config lives (see ConfigDir).
func ConfigPath() string { return filepath.Join(ConfigDir(os.Getenv), "config.yaml") }

// LoadConfig reads the config; a missing file is an empty config, a
// malformed one an error that names the file, line and problem.
func LoadConfig(path string) (Config, error) {
	var c Config
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

// URIs are the configured hosts' URIs, in the file's order.
func (c Config) URIs() []string {
	var out []string
	for _, h := range c.Hosts {
		out = append(out, h.URI)
	}
	return out
}
