package env

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A config.yaml whose `keys:` give one key to two actions live on the same
// screen is refused when it is loaded, naming the file, the key and both
// actions; a remap that moves the other action too is taken.
func TestConfigKeysConflictRefusedAtLoad(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // the log and the audit log
	loadKeys := func(keys string) (*Env, error) {
		t.Helper()
		xdg := t.TempDir()
		dir := filepath.Join(xdg, "stowage")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("keys:\n"+keys), 0o644); err != nil {
			t.Fatal(err)
		}
		getenv := func(k string) string {
			switch k {
			case "XDG_CONFIG_HOME":
				return xdg
			}
			return ""
		}
		return load(Flags{UI: true}, getenv)
	}
	_, err := loadKeys("  describe: [r]\n")
	want := `keys: "r" for describe is already refresh's key; pick another key or remap refresh too`
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "config.yaml") {
		t.Fatalf("describe on r: %v; want the file and %s", err, want)
	}
	e, err := loadKeys("  describe: [r]\n  refresh: [R, ctrl+r]\n")
	if err != nil {
		t.Fatalf("describe on r with refresh moved: %v", err)
	}
	defer e.Close()
	if e.Keys.Describe.Help().Key != "r" || e.Keys.Refresh.Keys()[0] != "R" {
		t.Errorf("keymap after the remap: describe %v, refresh %v", e.Keys.Describe.Keys(), e.Keys.Refresh.Keys())
	}
}
