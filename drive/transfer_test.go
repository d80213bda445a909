package drive

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stowage/model"
	"stowage/plan"
)

// The undo of a download removes the file it created, and not a file
// another process put at the same path.
func TestCreateOnlyUndoByInode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dl.bin")
	f, made, err := createOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, _, err := createOnly(path); err == nil || !strings.Contains(err.Error(), "never overwrites") {
		t.Fatalf("second create: %v", err)
	}
	// Moved away, not removed: a removed file's inode may be reused at
	// once by the next file, which is then indistinguishable by inode.
	if err := os.Rename(path, filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("theirs"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := made.Undo(context.Background()); !errors.Is(err, plan.ErrNotOurs) {
		t.Fatalf("undo of a replaced file: %v, want ErrNotOurs", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "theirs" {
		t.Fatal("undo touched a file it did not create")
	}

	other := filepath.Join(dir, "mine.bin")
	f, made, err = createOnly(other)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := made.Undo(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("own file not removed: %v", err)
	}
}

func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, make([]byte, 100), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckUploadFile(f, 100); err != nil {
		t.Error(err)
	}
	if _, err := CheckUploadFile(f, 99); err == nil || !strings.Contains(err.Error(), "larger than the volume's capacity") {
		t.Errorf("too big: %v", err)
	}
	if _, err := CheckUploadFile(dir, 0); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	if _, err := CheckUploadFile(filepath.Join(dir, "none"), 0); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing: %v", err)
	}
	if err := CheckDownloadFile(f); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("existing target: %v", err)
	}
	if err := CheckDownloadFile(filepath.Join(dir, "new")); err != nil {
		t.Error(err)
	}
	if err := CheckDownloadFile(filepath.Join(dir, "nodir", "new")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing directory: %v", err)
	}
	if err := CheckDownloadFile(filepath.Join(f, "new")); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file as directory: %v", err)
	}
}

// stoppedPoolFake answers a volume lookup in a stopped pool as libvirt
// does: an error that is not "not found".
type stoppedPoolFake struct{ *fakeLibvirt }

func (f stoppedPoolFake) Volume(ctx context.Context, pool, name string) (model.Volume, error) {
	if pool == "off" {
		return model.Volume{}, errors.New("Requested operation is not valid: storage pool 'off' is not active")
	}
	return f.fakeLibvirt.Volume(ctx, pool, name)
}

// A VM disk in a stopped pool is not the drive (the drive's pool is
// active), and does not make the check fail; another error still does.
func TestDiskInStoppedPoolIsNotTheDrive(t *testing.T) {
	f := stoppedPoolFake{newFake()}
	h := host{name: "h", lv: f, local: true}
	key, ok, err := diskKey(context.Background(), h, model.Disk{SourceType: "volume", Pool: "off", Volume: "a.raw"})
	if err != nil || ok || key != "" {
		t.Fatalf("disk in a stopped pool: %q %v %v; want no key, no error", key, ok, err)
	}
	f.pools["off"] = model.Pool{Name: "off", Type: model.PoolDir, Active: true}
	if _, _, err := diskKey(context.Background(), h, model.Disk{SourceType: "volume", Pool: "off", Volume: "a.raw"}); err == nil {
		t.Error("an error from an active pool was swallowed")
	}
}
