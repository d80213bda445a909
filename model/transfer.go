package model

import (
	"fmt"
	"strings"
	"time"
)

// The steps of a drive wipe, upload or download (one each: the stream or
// the wipe is one libvirt call).
const (
	StepWipe     StepID = "wipe"
	StepUpload   StepID = "upload"
	StepDownload StepID = "download"
)

// WipeAlgorithms are libvirt's wipe algorithms (virStorageVolWipeAlgorithm),
// in libvirt's order: the index is the number libvirt takes.
var WipeAlgorithms = []string{"zero", "nnsa", "dod", "bsi", "gutmann", "schneier", "pfitzner7", "pfitzner33", "random", "trim"}

// WipeAlgorithm is libvirt's number for a wipe algorithm's name, or an
// error that lists the names.
func WipeAlgorithm(name string) (uint32, error) {
	for i, a := range WipeAlgorithms {
		if a == name {
			return uint32(i), nil
		}
	}
	return 0, fmt.Errorf("wipe algorithm %q is not one of libvirt's: use %s", name, strings.Join(WipeAlgorithms, ", "))
}

// WipeSupport says whether a pool type's libvirt backend (libvirt 9.0)
// wipes with algorithm, and why not. The rbd backend knows zero and trim
// only ("unsupported algorithm"); iscsi-direct zero only. The local backends
// (files, LVs, partitions, block devices) write zeros themselves and hand
// every other pattern but trim to the host's scrub(1) program, which
// libvirt does not install: Note says so.
func WipeSupport(t PoolType, algorithm string) (note string, err error) {
	if _, err := WipeAlgorithm(algorithm); err != nil {
		return "", err
	}
	switch t {
	case PoolRBD:
		if algorithm != "zero" && algorithm != "trim" {
			return "", fmt.Errorf("libvirt's rbd backend wipes with zero or trim only, not %s", algorithm)
		}
		return "", nil
	case PoolISCSIDirect:
		if algorithm != "zero" {
			return "", fmt.Errorf("libvirt's iscsi-direct backend wipes with zero only, not %s", algorithm)
		}
		return "", nil
	}
	switch algorithm {
	case "zero":
		return "", nil
	case "trim":
		return "", fmt.Errorf("libvirt's %s backend does not trim (only rbd does): use zero, or another algorithm", t)
	}
	return fmt.Sprintf("%s runs the host's scrub program: install it on the host (package scrub) if libvirt says it cannot find it", algorithm), nil
}

// TransferSupport says whether a pool type's libvirt backend streams
// volumes (virStorageVolUpload/Download), with the alternative when not.
// libvirt 9.0's rbd backend has neither ("storage pool doesn't support
// volume upload", measured on the lab).
func TransferSupport(t PoolType, upload bool) error {
	if t != PoolRBD && t != PoolISCSIDirect && t != PoolSheepdog && t != PoolZFS && t != PoolVstorage {
		return nil
	}
	verb, alt := "download", "`rbd export POOL/IMAGE FILE`"
	if upload {
		verb, alt = "upload", "`rbd import FILE POOL/NEWIMAGE` for a new image, or `qemu-img convert -n -O raw FILE rbd:POOL/IMAGE` to overwrite this one"
	}
	if t != PoolRBD {
		return fmt.Errorf("libvirt's %s backend has no volume %s", t, verb)
	}
	return fmt.Errorf("libvirt's rbd backend has no volume %s (\"storage pool doesn't support volume %s\"): use %s", verb, verb, alt)
}

// VolumeStamp identifies a volume more tightly than its key: a dir pool's
// key is its path, which a volume deleted and created again under the same
// name keeps. Changed is the file's change time as libvirt reports it
// (<timestamps><ctime>, nanoseconds), empty where libvirt has none (rbd,
// where the key and Ceph's image id serve).
type VolumeStamp struct {
	Key     string `json:"key"`
	Changed string `json:"changed,omitempty"`
	// ImageID is Ceph's id of an rbd image, when stowage can reach Ceph.
	ImageID string `json:"image_id,omitempty"`
}

// Same reports whether now is the volume that s was taken of, and if not
// why (for the refusal).
func (s VolumeStamp) Same(now VolumeStamp) error {
	switch {
	case now.Key != s.Key:
		return fmt.Errorf("its key is now %q, was %q", now.Key, s.Key)
	case s.Changed != now.Changed:
		return fmt.Errorf("it was changed or replaced (change time %s, was %s)", now.Changed, s.Changed)
	case s.ImageID != "" && now.ImageID != s.ImageID:
		return fmt.Errorf("its RBD image id is now %q, was %q", now.ImageID, s.ImageID)
	}
	return nil
}

// Sample is one progress report: bytes done at Elapsed since the step began.
type Sample struct {
	Elapsed time.Duration
	Done    uint64
}

// Meter turns progress reports into throughput and a time left. It keeps
// the reports of the last Window (default 5 s) so the rate follows a
// transfer that speeds up or stalls; its times are the events' own, so
// it is pure.
type Meter struct {
	Window  time.Duration
	samples []Sample
}

// Add records a report; reports out of order (or a restart) reset it.
func (m *Meter) Add(s Sample) {
	if n := len(m.samples); n > 0 && (s.Elapsed < m.samples[n-1].Elapsed || s.Done < m.samples[n-1].Done) {
		m.samples = m.samples[:0]
	}
	m.samples = append(m.samples, s)
	w := m.Window
	if w <= 0 {
		w = 5 * time.Second
	}
	// Keep one sample at or before the window's start, so the rate spans
	// the whole window.
	cut := 0
	for i := range m.samples {
		if s.Elapsed-m.samples[i].Elapsed >= w {
			cut = i
		}
	}
	m.samples = m.samples[cut:]
}

// Rate is bytes per second over the window; ok is false until two reports
// apart in time exist.
func (m *Meter) Rate() (perSecond float64, ok bool) {
	if len(m.samples) < 2 {
		return 0, false
	}
	return Rate(m.samples[0], m.samples[len(m.samples)-1])
}

// Rate is the throughput between two reports, in bytes per second.
func Rate(from, to Sample) (perSecond float64, ok bool) {
	dt := to.Elapsed - from.Elapsed
	if dt <= 0 || to.Done < from.Done {
		return 0, false
	}
	return float64(to.Done-from.Done) / dt.Seconds(), true
}

// ETA is the time left to move total at rate, from done; ok is false when
// the rate is unknown or zero.
func ETA(done, total uint64, perSecond float64) (time.Duration, bool) {
	if done >= total {
		return 0, true
	}
	if perSecond <= 0 {
		return 0, false
	}
	secs := float64(total-done) / perSecond
	if secs > float64(1<<62)/float64(time.Second) {
		return 0, false
	}
	return time.Duration(secs * float64(time.Second)).Round(time.Second), true
}

// FormatRate renders bytes per second as MiB/s with one decimal.
func FormatRate(perSecond float64) string {
	return fmt.Sprintf("%.1f MiB/s", perSecond/(1<<20))
}

// FormatETA renders a time left as 1h02m03s, 2m05s or 7s.
func FormatETA(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm%02ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// TransferLine is the progress words a screen or stderr shows for a
// measured step: "42% 26.0 MiB / 64.0 MiB · 12.3 MiB/s · ETA 3s".
func TransferLine(done, total uint64, m *Meter) string {
	pct := 100.0
	if total > 0 && done < total {
		pct = float64(done) * 100 / float64(total)
	}
	out := fmt.Sprintf("%3.0f%% %s / %s", pct, IBytes(done), IBytes(total))
	if m == nil {
		return out
	}
	if r, ok := m.Rate(); ok {
		out += " · " + FormatRate(r)
		if eta, ok := ETA(done, total, r); ok {
			out += " · ETA " + FormatETA(eta)
		}
	}
	return out
}

// Stream bounds a volume transfer: Stall cuts it when no byte moved for
// that long; Progress hears the bytes moved so far (from the transfer's
// goroutine).
type Stream struct {
	Stall    time.Duration
	Progress func(done uint64)
}
