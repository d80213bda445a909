// Package ceph owns every conversation with Ceph (through go-ceph's librados
// and librbd bindings): connecting as a restricted cephx user, and creating,
// LUKS-formatting, listing and removing RBD images. It also knows where
// librados looks for ceph.conf and keyrings when nothing names them
// (Locator: pure file lookups, in every build).
//
// For the Ceph view and `stowage doctor` it reads a cluster's facts
// (Client.Cluster: health detail, df, the OSD map's ratios and quotas;
// Client.Image: size, used, encryption from the header, features,
// watchers, lockers, snapshots, parent) and runs the doctor's checks
// (Diagnose → []model.Finding: health, pools near full or quota, stale
// locks, blocklisted clients, images open by several clients, a user's
// caps, unreachable monitors), with one fix: Client.BreakLock, which
// breaks a lock only while it is still the one named. The decisions
// (parse.go, caps.go, findings.go) are pure and build everywhere; the
// calls (cluster.go, doctor.go) need go-ceph. Every call is bounded by
// Config.Timeout through librados's own timeouts (client_mount_timeout,
// rados_mon_op_timeout, rados_osd_op_timeout): a dead monitor or a wrong
// key fails within it, never hangs. Recording a fix in the audit log and
// asking for confirmation is the caller's job.
//
// HostViews (host.go) is the one gathering of what a libvirt host's rbd
// pools reach: HostClusters groups the pools by cluster and cephx user
// through an Access the caller gives (cli/env's CephConfig), and each
// cluster is read into a model.CephView tied to the host's libvirt pools
// and VMs; `stowage doctor`, `stowage inventory --ceph` and the console's
// Ceph view (through connect) all use it.
//
// It imports model only; never libvirtx, ui, themes, bubbletea or lipgloss.
// Built with the noceph tag it compiles without cgo or Ceph's libraries,
// and every call returns ErrNoCeph, so stowage still runs on a hypervisor
// without Ceph packages and says why an RBD feature is unavailable.
package ceph

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"stowage/model"
)

// ErrNoCeph is returned by every call in a binary built with -tags noceph.
var ErrNoCeph = errors.New("this stowage was built without Ceph support (build tag noceph); " +
	"RBD features need a build with go-ceph: install librados-dev and librbd-dev and run `make build`")

// Config says how to reach a cluster and as whom.
type Config struct {
	// ConfFile is a ceph.conf path; optional when Monitors is set.
	ConfFile string
	// Monitors are mon addresses ("127.0.0.1:6789"), e.g. from a libvirt
	// rbd pool's <host> elements; they override the conf file's mon_host.
	Monitors []string
	// User is the cephx user without "client." (e.g. "libvirt").
	User string
	// Keyring is a keyring file path. Key, when set, is used instead: the
	// base64 cephx key (never logged; the caller clears it after use).
	Keyring string
	Key     []byte
	// Timeout bounds connecting and each monitor/OSD operation.
	Timeout time.Duration
}

func monitorsOf(c Config) string {
	if len(c.Monitors) > 0 {
		return strings.Join(c.Monitors, ",")
	}
	return "the monitors of " + c.ConfFile
}

// timeout is Timeout, or the default when it is unset.
func (c Config) timeout() time.Duration {
	if c.Timeout <= 0 {
		return 30 * time.Second
	}
	return c.Timeout
}

func (c Config) validate() error {
	if c.User == "" {
		return fmt.Errorf("ceph: no cephx user given (e.g. libvirt for client.libvirt)")
	}
	if c.ConfFile == "" && len(c.Monitors) == 0 {
		return fmt.Errorf("ceph: give a ceph.conf path or the monitors' addresses")
	}
	if c.Keyring == "" && len(c.Key) == 0 {
		return fmt.Errorf("ceph: no key for client.%s: give a keyring path (the libvirt secret holding it is private and cannot be read back)", c.User)
	}
	return nil
}

// ImageName checks an RBD image name: Ceph refuses '/' and '@' (snapshot
// separator) and names over 4096 bytes; stowage also refuses control
// characters and leading/trailing spaces, which nobody means.
func ImageName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("image name is empty")
	case len(name) > 4096:
		return fmt.Errorf("image name is %d bytes long; RBD allows 4096", len(name))
	}
	for _, r := range name {
		switch {
		case r == '/' || r == '@':
			return fmt.Errorf("image name %q contains %q, which RBD reserves (pool/image@snapshot)", name, r)
		case r < 0x20 || r == 0x7f:
			return fmt.Errorf("image name %q contains a control character", name)
		}
	}
	if name[0] == ' ' || name[len(name)-1] == ' ' {
		return fmt.Errorf("image name %q starts or ends with a space", name)
	}
	return nil
}

// ErrImageReplaced is returned (wrapped) by RemoveImageIfID when the image
// of that name is not the one identified: it is left alone. It matches
// model.ErrNotTheSame, which callers test without knowing the backend.
var ErrImageReplaced error = imageReplaced{}

type imageReplaced struct{}

func (imageReplaced) Error() string        { return "the image of that name is another image now" }
func (imageReplaced) Is(target error) bool { return target == model.ErrNotTheSame }

// DoctorOptions says what Diagnose looks at beyond the cluster itself.
type DoctorOptions struct {
	// Pools are the pools the host uses (its libvirt rbd pools' Ceph
	// pools): their images are checked for stale locks and watchers, and
	// the user's caps on them.
	Pools []string
	// Admin, when its User is set, is an admin connection used only to
	// read the user's caps (`auth get`); without it a missing cap shows as
	// EPERM on the pool.
	Admin Config
}

// ErrLockChanged is returned (wrapped) by BreakLock when the image no
// longer has the lock named: it breaks nothing. It matches
// model.ErrNotTheSame.
var ErrLockChanged error = lockChanged{}

type lockChanged struct{}

func (lockChanged) Error() string        { return "the lock is not the one named any more" }
func (lockChanged) Is(target error) bool { return target == model.ErrNotTheSame }

// ErrLockLive is returned (wrapped) by BreakLock when the locker still
// watches the image: it is alive, and breaking its lock would let two
// clients write.
var ErrLockLive = errors.New("the lock's holder is alive (it watches the image)")
