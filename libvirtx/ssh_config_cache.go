package libvirtx

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/digitalocean/go-libvirt/socket"
	sshconfig "github.com/kevinburke/ssh_config"
)

// SSHConfigCache holds ~/.ssh/config parsed once per version of the file,
// for a process that dials many hosts: parsing it for every dial made a
// fleet's dials quadratic (an ssh_config naming 100 hosts, parsed 100
// times, was a quarter of `stowage inventory`'s CPU over 100 hosts). A
// version is the file's modification time and size, checked at every dial,
// so an edit made while the console runs is seen at the next dial; a file
// it pulls in with Include is read when the top file is, not on its own
// change. Safe for concurrent use. The nil cache reads the file each time.
type SSHConfigCache struct {
	mu      sync.Mutex
	path    string
	modTime time.Time
	size    int64
	cfg     *sshconfig.Config
}

// NewSSHConfigCache returns an empty cache; one per process is enough.
func NewSSHConfigCache() *SSHConfigCache { return &SSHConfigCache{} }

// Dialer builds the qemu+ssh dialer for a target with ~/.ssh/config from
// the cache.
func (c *SSHConfigCache) Dialer(t Target, timeout time.Duration) (socket.Dialer, error) {
	home, _ := os.UserHomeDir()
	localUser := os.Getenv("USER")
	if localUser == "" {
		localUser = "root"
	}
	cfg, err := c.load(filepath.Join(home, ".ssh", "config"))
	if err != nil {
		return nil, fmt.Errorf("%s: read ~/.ssh/config: %w", t.Raw, err)
	}
	return newSSHDialer(t, timeout, sshEnv{cfg: cfg, home: home, localUser: localUser})
}

// load returns the parsed file at path, nil when there is none.
func (c *SSHConfigCache) load(path string) (*sshconfig.Config, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if c != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.cfg != nil && c.path == path && c.modTime.Equal(st.ModTime()) && c.size == st.Size() {
			return c.cfg, nil
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg, err := sshconfig.Decode(f)
	if err != nil {
		return nil, err
	}
	if c != nil {
		c.path, c.modTime, c.size, c.cfg = path, st.ModTime(), st.Size(), cfg
	}
	return cfg, nil
}
