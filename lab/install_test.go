package lab

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// lib.sh's install_file and uninstall_files, on a temporary lab directory
// and destination: lab/up installs /etc/ceph files with them, and lab/down
// must remove exactly those, never a file the lab did not write.
func TestInstallFileOwnsOnlyWhatItWrote(t *testing.T) {
	labDir, etc := t.TempDir(), t.TempDir()
	sh := func(script string) (string, error) {
		cmd := exec.Command("bash", "-c", `. "$1/lib.sh"; `+script, "bash", Dir())
		cmd.Env = append(os.Environ(), "STOWAGE_LAB_DIR="+labDir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(b)
	}
	src, ours, theirs := filepath.Join(labDir, "src"), filepath.Join(etc, "ours.keyring"), filepath.Join(etc, "theirs.conf")
	write(src, "v1\n")
	write(theirs, "the admin's\n")

	if out, err := sh(`install_file "` + src + `" "` + ours + `" 0600`); err != nil {
		t.Fatalf("install into an empty place: %v\n%s", err, out)
	}
	if st, err := os.Stat(ours); err != nil || st.Mode().Perm() != 0o600 || read(ours) != "v1\n" {
		t.Fatalf("installed file: %v, %v, %q; want v1 with mode 0600", st, err, read(ours))
	}
	out, err := sh(`install_file "` + src + `" "` + theirs + `" 0644`)
	if err == nil || read(theirs) != "the admin's\n" || !strings.Contains(out, "left "+theirs+" alone") {
		t.Errorf("install over the admin's file: %v, content %q, output %q; want it left alone and said so", err, read(theirs), out)
	}

	// A rebuilt cluster: the lab's own, unchanged file is refreshed.
	write(src, "v2\n")
	if out, err := sh(`install_file "` + src + `" "` + ours + `" 0600`); err != nil || read(ours) != "v2\n" {
		t.Errorf("refresh of the lab's file: %v, %q\n%s", err, read(ours), out)
	}
	// Once someone changed it, it is theirs.
	write(ours, "edited\n")
	write(src, "v3\n")
	if _, err := sh(`install_file "` + src + `" "` + ours + `" 0600`); err == nil || read(ours) != "edited\n" {
		t.Errorf("install over an edited file: %v, %q; want it left alone", err, read(ours))
	}
	out, err = sh(`uninstall_files`)
	if err != nil || read(ours) != "edited\n" || read(theirs) != "the admin's\n" || !strings.Contains(out, "changed since") {
		t.Errorf("uninstall with an edited file: %v, %q, %q\n%s; want both files kept", err, read(ours), read(theirs), out)
	}

	// Installed and untouched: uninstall removes it, and only it.
	if err := os.Remove(ours); err != nil {
		t.Fatal(err)
	}
	if out, err := sh(`install_file "` + src + `" "` + ours + `" 0600`); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := sh(`uninstall_files`); err != nil || !strings.Contains(out, "removed "+ours) {
		t.Errorf("uninstall: %v\n%s", err, out)
	}
	if _, err := os.Stat(ours); !os.IsNotExist(err) {
		t.Errorf("the lab's file is still there after uninstall_files: %v", err)
	}
	if read(theirs) != "the admin's\n" {
		t.Errorf("the admin's file changed: %q", read(theirs))
	}
	if _, err := os.Stat(filepath.Join(labDir, "installed")); !os.IsNotExist(err) {
		t.Errorf("the record of installed files outlives uninstall_files: %v", err)
	}
}
