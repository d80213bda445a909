package benchenc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"stowage/model"
	"stowage/plan"
)

// Dir keeps the scratch images as files in a dir pool's directory.
type Dir struct {
	Exec Exec
	// Path is the pool's target path.
	Path string
}

// Kind implements Storage.
func (d *Dir) Kind() string { return "dir" }

// Formats implements Storage: librbd has nothing to do with files.
func (d *Dir) Formats() []Format { return []Format{Plain, QEMULUKS} }

// Object implements Storage.
func (d *Dir) Object(name string) string { return filepath.Join(d.Path, name) }

// Secrets implements Storage: files need no key besides the passphrase.
func (d *Dir) Secrets() [][]byte { return nil }

// List implements Storage.
func (d *Dir) List(prefix string) ([]string, error) {
	ents, err := os.ReadDir(d.Path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

type inode struct{ dev, ino uint64 }

func inodeOf(fi fs.FileInfo) inode {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return inode{dev: uint64(st.Dev), ino: st.Ino}
	}
	return inode{}
}

// Create implements Storage. The file is claimed first (O_EXCL, 0600), so
// a file of that name that someone else made is never overwritten; the
// undo removes the path only while it is still that file (device and
// inode). qemu-img create writes its LUKS header into the claimed file in
// place, a retry too.
func (d *Dir) Create(ctx context.Context, f Format, name string, size uint64, pass []byte, retried Retried) (plan.Made, error) {
	path := d.Object(name)
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return plan.Made{}, fmt.Errorf("claim %s: %w", path, err)
	}
	fi, err := fh.Stat()
	if err != nil {
		_ = fh.Close()
		_ = os.Remove(path)
		return plan.Made{}, fmt.Errorf("stat %s: %w", path, err)
	}
	id := inodeOf(fi)
	m := plan.Made{What: "file " + path, Identity: fmt.Sprintf("dev %d inode %d", id.dev, id.ino), Command: "rm -f " + path,
		Undo: func(context.Context) error {
			now, err := os.Lstat(path)
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			if inodeOf(now) != id {
				return fmt.Errorf("%s is another file now: %w (%w)", path, plan.ErrNotOurs, model.ErrNotTheSame)
			}
			return os.Remove(path)
		}}
	switch f {
	case Plain:
		// Sparse: the first (write) workload allocates it.
		err = fh.Truncate(int64(size))
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		return m, err
	case QEMULUKS:
		_ = fh.Close()
		return m, CreateLUKS(ctx, d.Exec, path, size, [][]byte{pass}, nil, retried)
	}
	_ = fh.Close()
	return m, fmt.Errorf("format %s is not benchmarked on dir pools", f)
}

// Blockdev implements Storage: the file with O_DIRECT (cache.direct), like
// fio's direct I/O in seed 003, so the host's page cache is not measured.
func (d *Dir) Blockdev(f Format, name string) map[string]any {
	n := map[string]any{"driver": "file", "filename": d.Object(name), "aio": "threads", "cache": map[string]any{"direct": true}}
	if f == QEMULUKS {
		return luksNode(n)
	}
	n["node-name"] = nodeName
	return n
}
