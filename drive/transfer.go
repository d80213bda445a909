package drive

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"stowage/model"
	"stowage/plan"
)

// fileID is a local file's identity: a path another process replaces
// keeps its name, not its inode.
type fileID struct{ dev, ino uint64 }

func fileIDOf(fi fs.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: st.Ino}
	}
	return fileID{}
}

func (f fileID) String() string { return fmt.Sprintf("dev %d inode %d", f.dev, f.ino) }

// CheckUploadFile says whether path can be uploaded into a volume of
// capacity bytes (0: unknown): a readable regular file no larger than the
// volume. Forms call it as the admin types.
func CheckUploadFile(path string, capacity uint64) (fs.FileInfo, error) {
	if path == "" {
		return nil, errors.New("give the local file to upload")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	}
	if err := unix.Access(path, unix.R_OK); err != nil {
		return nil, fmt.Errorf("file %s is not readable: %w", path, err)
	}
	if capacity > 0 && uint64(fi.Size()) > capacity {
		return nil, fmt.Errorf("file %s is %s (%d bytes), larger than the volume's capacity %s (%d bytes): resize the volume first, or upload a smaller file",
			path, model.IBytes(uint64(fi.Size())), fi.Size(), model.IBytes(capacity), capacity)
	}
	return fi, nil
}

// CheckDownloadFile says whether path can receive a download: it must not
// exist (stowage never overwrites a file) and its directory must exist and
// be writable. Forms call it as the admin types.
func CheckDownloadFile(path string) error {
	if path == "" {
		return errors.New("give the local file to download into (a new file)")
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("file %s exists: stowage never overwrites a file; choose a new name or remove it first", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("file %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if err := unix.Access(dir, unix.W_OK); err != nil {
		return fmt.Errorf("directory %s is not writable: %w", dir, err)
	}
	return nil
}

// PrepareUpload checks an upload of file into pool/name: the pool's backend
// streams, the drive is plain and unused, the file fits. An encrypted
// drive is refused: the file's bytes would replace the LUKS container
// (header included), so the drive's secret would open nothing and the VM
// would read garbage; upload into a plain volume instead. Refusals are
// audited.
func PrepareUpload(ctx context.Context, d Deps, pool, name, file string) (PreparedTransfer, error) {
	d = d.withDefaults()
	p, err := prepareUpload(ctx, d, pool, name, file)
	if err != nil {
		d.refused("upload volume", pool+"/"+name+" <- "+file, err)
	}
	return p, err
}

func prepareUpload(ctx context.Context, d Deps, pool, name, file string) (PreparedTransfer, error) {
	if file == "" {
		return PreparedTransfer{}, errors.New("upload needs the local file (--file)")
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return PreparedTransfer{}, fmt.Errorf("file %s: %w", file, err)
	}
	p, err := prepareVolume(ctx, d, "upload", pool, name, func(pl model.Pool) error { return model.TransferSupport(pl.Type, true) })
	if err != nil {
		return p, err
	}
	p.File = abs
	if p.Secret != "" {
		return p, fmt.Errorf("drive %s is encrypted (LUKS, secret %s): uploading raw bytes would replace its LUKS container, "+
			"so its secret would open nothing; upload into a plain volume, or copy the data from inside a VM that has the drive attached", p.Object(), p.Secret)
	}
	fi, err := CheckUploadFile(abs, p.Volume.Capacity)
	if err != nil {
		return p, err
	}
	p.FileSize, p.fileID = uint64(fi.Size()), fileIDOf(fi)
	if p.Volume.Format != "" && p.Volume.Format != "raw" {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the volume is %s: the file's bytes replace it as they are, so the file must be a %s image", p.Volume.Format, p.Volume.Format))
	}
	p.Step = model.Step{ID: model.StepUpload, Title: fmt.Sprintf("upload %s into %s", filepath.Base(abs), p.Object()), Measurable: true}
	return p, nil
}

// PrepareDownload checks a download of pool/name into a new local file.
// An encrypted drive downloads as its ciphertext (the LUKS container):
// allowed, and the result says so. Refusals are audited.
func PrepareDownload(ctx context.Context, d Deps, pool, name, file string) (PreparedTransfer, error) {
	d = d.withDefaults()
	p, err := prepareDownload(ctx, d, pool, name, file)
	if err != nil {
		d.refused("download volume", pool+"/"+name+" -> "+file, err)
	}
	return p, err
}

func prepareDownload(ctx context.Context, d Deps, pool, name, file string) (PreparedTransfer, error) {
	if file == "" {
		return PreparedTransfer{}, errors.New("download needs the local file to create (--file)")
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return PreparedTransfer{}, fmt.Errorf("file %s: %w", file, err)
	}
	if err := CheckDownloadFile(abs); err != nil {
		return PreparedTransfer{}, err
	}
	p, err := prepareVolume(ctx, d, "download", pool, name, func(pl model.Pool) error { return model.TransferSupport(pl.Type, false) })
	if err != nil {
		return p, err
	}
	p.File = abs
	if p.Secret != "" {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the drive is encrypted: the file is its LUKS ciphertext, readable only with the passphrase of secret %s", p.Secret))
	}
	p.Step = model.Step{ID: model.StepDownload, Title: fmt.Sprintf("download %s into %s", p.Object(), filepath.Base(abs)), Measurable: true}
	return p, nil
}

// progressEvery throttles progress events: a 4 MiB packet each is too
// many for a screen (and the runner's channel blocks the stream).
const progressEvery = 200 * time.Millisecond

func throttled(rep plan.Report, total uint64) func(uint64) {
	var mu sync.Mutex
	var last time.Time
	return func(done uint64) {
		mu.Lock()
		defer mu.Unlock()
		if now := time.Now(); now.Sub(last) >= progressEvery || done >= total {
			last = now
			rep.Progress(done, total)
		}
	}
}

func (p PreparedTransfer) stall() time.Duration {
	if p.Stall > 0 {
		return p.Stall
	}
	return DefaultStall
}

func finishRates(res *TransferResult, start time.Time) {
	res.Seconds = time.Since(start).Seconds()
	if res.Seconds > 0 {
		res.MiBPerSec = float64(res.Bytes) / (1 << 20) / res.Seconds
	}
}

// Upload runs a prepared upload: the file must still be the one checked
// (same inode and size), the volume the one confirmed and unused. It
// cannot be undone: a failure or a cancel mid-way leaves the volume's
// first bytes overwritten, and the error says how many.
func Upload(ctx context.Context, d Deps, p PreparedTransfer, events chan<- Event) (TransferResult, error) {
	d = d.withDefaults()
	res := p.result(d)
	t, err := transfers(d)
	if err != nil {
		return res, err
	}
	acts := []plan.Action{{Step: p.Step, Audit: "upload volume", Object: p.Object() + " <- " + p.File,
		Do: func(_ context.Context, rep plan.Report) (plan.Made, error) {
			f, err := os.Open(p.File)
			if err != nil {
				return plan.Made{}, fmt.Errorf("open %s: %w", p.File, err)
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return plan.Made{}, fmt.Errorf("stat %s: %w", p.File, err)
			}
			if fileIDOf(fi) != p.fileID || uint64(fi.Size()) != p.FileSize {
				return plan.Made{}, fmt.Errorf("file %s changed since it was checked (was %s, %d bytes; now %s, %d bytes): nothing uploaded, check it again",
					p.File, p.fileID, p.FileSize, fileIDOf(fi), fi.Size())
			}
			check, err := stillTheOne(ctx, d, p)
			if err != nil {
				return plan.Made{}, err
			}
			rep.Progress(0, p.FileSize)
			start := time.Now()
			// ctx, not the runner's: Ctrl+C cuts the stream.
			n, err := t.UploadVolumeIf(ctx, p.Pool.Name, p.Volume.Name, f, p.FileSize,
				model.Stream{Stall: p.stall(), Progress: throttled(rep, p.FileSize)}, check)
			res.Bytes = n
			finishRates(&res, start)
			if err == nil && n != p.FileSize {
				err = fmt.Errorf("uploaded %d bytes of %d: the file shrank while it was read", n, p.FileSize)
			}
			if err != nil && n > 0 {
				err = fmt.Errorf("%w; up to the volume's first %s (%d bytes) were overwritten, the rest is as it was", err, model.IBytes(n), n)
			}
			if err != nil && ctx.Err() != nil && !errors.Is(err, ErrCancelled) {
				err = fmt.Errorf("%w: %w", ErrCancelled, err)
			}
			if err == nil {
				if note := awaitRefresh(ctx, d, t, p); note != "" {
					res.Notes = append(res.Notes, note)
				}
			}
			return plan.Made{}, err
		}}}
	_, err = d.runner(events).Run(ctx, acts)
	return res, err
}

// awaitRefresh makes sure the pool lists the volume after an upload. When
// an upload ends, libvirtd refreshes the pool on a thread of its own: it
// clears the pool's volume list, then lists again, and a refresh that
// fails leaves the list empty (measured on a logical pool of the nested
// host: the LV stayed unlisted for 8 minutes, and a download after the
// upload found "volume does not exist"). It waits a few polls for that
// refresh, then asks for one itself; the result says when even that did
// not bring the volume back.
func awaitRefresh(ctx context.Context, d Deps, t Transfers, p PreparedTransfer) string {
	listed := func() bool {
		_, _, err := t.VolumeStamp(ctx, p.Pool.Name, p.Volume.Name)
		return !errors.Is(err, model.ErrNotFound)
	}
	for i := 0; i < 8; i++ {
		if listed() {
			return ""
		}
		time.Sleep(d.PollInterval)
	}
	err := d.Libvirt.RefreshPool(ctx, p.Pool.Name)
	if err == nil && listed() {
		return ""
	}
	return fmt.Sprintf("after the upload libvirt's pool %s does not list the volume (its own refresh failed; stowage's: %v): run `virsh pool-refresh %s`", p.Pool.Name, err, p.Pool.Name)
}

// Download runs a prepared download into a file it creates (O_EXCL: never
// one that exists). On a failure or a cancel the runner's rollback removes
// that file, and only while it is still the one this run created (its
// inode): a file someone put in its place meanwhile stays.
func Download(ctx context.Context, d Deps, p PreparedTransfer, events chan<- Event) (TransferResult, error) {
	d = d.withDefaults()
	res := p.result(d)
	t, err := transfers(d)
	if err != nil {
		return res, err
	}
	total := p.Volume.Capacity
	if p.Volume.Format != "" && p.Volume.Format != "raw" && p.Volume.Allocation > 0 {
		total = p.Volume.Allocation // a qcow2 file streams as its size on disk
	}
	acts := []plan.Action{{Step: p.Step, Audit: "download volume", Object: p.Object() + " -> " + p.File,
		Do: func(_ context.Context, rep plan.Report) (plan.Made, error) {
			check, err := stillTheOne(ctx, d, p)
			if err != nil {
				return plan.Made{}, err
			}
			f, made, err := createOnly(p.File)
			if err != nil {
				return plan.Made{}, err
			}
			rep.Progress(0, total)
			start := time.Now()
			n, err := t.DownloadVolumeIf(ctx, p.Pool.Name, p.Volume.Name, f,
				model.Stream{Stall: p.stall(), Progress: throttled(rep, total)}, check)
			res.Bytes = n
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("close %s: %w", p.File, cerr)
			}
			finishRates(&res, start)
			if err != nil && ctx.Err() != nil && !errors.Is(err, ErrCancelled) {
				err = fmt.Errorf("%w: %w", ErrCancelled, err)
			}
			return made, err
		}}}
	_, err = d.runner(events).Run(ctx, acts)
	if err != nil {
		res.File = ""
	}
	return res, err
}

// createOnly creates path (never an existing file) and returns the Made
// that removes it by its inode.
func createOnly(path string) (*os.File, plan.Made, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, plan.Made{}, fmt.Errorf("file %s exists (created since it was checked): stowage never overwrites a file", path)
	}
	if err != nil {
		return nil, plan.Made{}, fmt.Errorf("create %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		_ = os.Remove(path)
		return nil, plan.Made{}, fmt.Errorf("stat %s: %w", path, err)
	}
	id := fileIDOf(fi)
	return f, plan.Made{What: "file " + path, Identity: id.String(), Command: "rm -f " + path,
		Undo: func(context.Context) error {
			now, err := os.Lstat(path)
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			if fileIDOf(now) != id {
				return fmt.Errorf("file %s is now %s, not the %s this download created: %w", path, fileIDOf(now), id, plan.ErrNotOurs)
			}
			return os.Remove(path)
		}}, nil
}
