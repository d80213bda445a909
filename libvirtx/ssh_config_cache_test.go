package libvirtx

import (
	"os"
	"path/filepath"
	"testing"
)

// The cache parses a file once per version: a second dial reuses the
// parse, an edit (another size or time) is read at the next dial, and the
// nil cache (no cache wired) parses every time.
func TestSSHConfigCacheParsesOncePerVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte("Host a\n\tPort 2201\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := NewSSHConfigCache()
	first, err := c.load(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.load(path)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Fatal("the unchanged file was parsed again")
	}
	if err := os.WriteFile(path, []byte("Host a\n\tPort 22011\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	edited, err := c.load(path)
	if err != nil {
		t.Fatal(err)
	}
	if port, _ := edited.Get("a", "Port"); port != "22011" {
		t.Fatalf("after an edit the cache still says Port %q; want 22011", port)
	}
	var none *SSHConfigCache
	x, _ := none.load(path)
	y, _ := none.load(path)
	if x == y {
		t.Fatal("the nil cache shared a parse")
	}
	if cfg, err := c.load(filepath.Join(t.TempDir(), "missing")); cfg != nil || err != nil {
		t.Fatalf("a missing file: %v, %v; want no config and no error", cfg, err)
	}
}
