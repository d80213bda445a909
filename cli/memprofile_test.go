package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMemProfileFlag(t *testing.T) {
	var errb bytes.Buffer
	if _, _, err := parseConsoleFlags([]string{"--memprofile="}, &errb); err == nil || !strings.Contains(err.Error(), "path of the file") {
		t.Errorf("--memprofile with no path: %v; want an error asking for a path", err)
	}
	path := filepath.Join(t.TempDir(), "heap.out")
	_, got, err := parseConsoleFlags([]string{"--memprofile", path}, &errb)
	if err != nil || got != path {
		t.Fatalf("--memprofile %s: %q, %v", path, got, err)
	}
	if _, err := openMemProfile(filepath.Join(t.TempDir(), "no", "such", "dir")); err == nil || !strings.Contains(err.Error(), "--memprofile") {
		t.Errorf("a path that cannot be created: %v; want an error naming --memprofile", err)
	}
	p, err := openMemProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	p.write(&errb)
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 || errb.Len() > 0 {
		t.Errorf("the profile: %v, %v, stderr %q", fi, err, errb.String())
	}
}
