package model

// Defining a pool of any type (stowage pool define, the define-pool form):
// which fields each type reads, pure validation whose messages say what is
// wrong and what would be right, and the plan of steps. libvirtx renders
// the XML and runs the steps.

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// DefinableTypes are the pool types stowage defines, in the order a form
// offers them.
var DefinableTypes = []PoolType{PoolDir, PoolFS, PoolNetFS, PoolLogical, PoolDisk, PoolRBD, PoolISCSI, PoolISCSIDirect}

// PoolTypeAbout is one line per definable type, for help and the form.
var PoolTypeAbout = map[PoolType]string{
	PoolDir:         "a directory on the host",
	PoolFS:          "a block device with a filesystem, mounted on a directory",
	PoolNetFS:       "an NFS export, mounted on a directory",
	PoolLogical:     "an LVM volume group: an existing one, or a new one on chosen devices",
	PoolDisk:        "a whole disk; each volume is a partition",
	PoolRBD:         "a Ceph RBD pool",
	PoolISCSI:       "an iSCSI target through the host's kernel initiator (LUNs appear as disks)",
	PoolISCSIDirect: "an iSCSI target through libiscsi in QEMU (no kernel initiator)",
}

// FSFormats are the filesystems libvirt's fs backend mounts; auto lets
// mount(8) detect (it cannot be built).
var FSFormats = []string{"auto", "ext2", "ext3", "ext4", "xfs", "vfat", "btrfs", "iso9660", "udf", "gfs2", "ocfs2"}

// DiskFormats are the partition labels libvirt's disk backend reads and
// writes (parted's names).
var DiskFormats = []string{"gpt", "dos", "dvh", "mac", "bsd", "pc98", "sun"}

// NetFSFormats: stowage defines NFS pools (auto lets mount detect).
var NetFSFormats = []string{"nfs", "auto"}

// BuildMode is what the build step asks of libvirt.
type BuildMode int

// Build modes.
const (
	BuildNone BuildMode = iota
	// BuildMkdir: pool-build without flags (the target directory).
	BuildMkdir
	// BuildNoOverwrite: pool-build --no-overwrite (mkfs, vgcreate, a
	// label) refusing a device that holds data.
	BuildNoOverwrite
	// BuildOverwrite: pool-build --overwrite, after a typed confirmation.
	BuildOverwrite
)

// BuildMode says whether and how the define plan builds s: dir and netfs
// always make their directory (fs too, unless it makes a filesystem); a
// logical pool on devices is a new VG (vgcreate); fs and disk format only
// when asked.
func (s PoolSpec) BuildMode() BuildMode {
	format := func(asked bool, dflt BuildMode) BuildMode {
		switch {
		case asked && s.Overwrite:
			return BuildOverwrite
		case asked:
			return BuildNoOverwrite
		}
		return dflt
	}
	switch PoolType(s.Type) {
	case PoolDir, PoolNetFS:
		return BuildMkdir
	case PoolFS:
		return format(s.Build, BuildMkdir)
	case PoolLogical:
		return format(len(s.Devices) > 0, BuildNone)
	case PoolDisk:
		return format(s.Build, BuildNone)
	}
	return BuildNone
}

// NewVG reports a logical pool that creates its VG (on Devices).
func (s PoolSpec) NewVG() bool { return PoolType(s.Type) == PoolLogical && len(s.Devices) > 0 }

// TargetPath is the pool's <target><path>: the directory for dir, fs and
// netfs, /dev/VG for logical, /dev for disk, by-path for iscsi.
func (s PoolSpec) TargetPath() string {
	switch PoolType(s.Type) {
	case PoolLogical:
		return "/dev/" + s.VG
	case PoolDisk:
		return "/dev"
	case PoolISCSI:
		return ByPathDir
	}
	return s.Path
}

// FieldError is one invalid field: Field names it as the flag does
// (without dashes), Err says what is wrong and what would be right.
type FieldError struct {
	Field string
	Err   error
}

func (e FieldError) Error() string { return e.Err.Error() }
func (e FieldError) Unwrap() error { return e.Err }

// ValidateDefine checks every field type s reads; existing are the pool
// names the host has (a taken name is refused). It returns every problem
// at once, joined, each a FieldError.
func ValidateDefine(s PoolSpec, existing []string) error {
	var errs []error
	add := func(field string, err error) {
		if err != nil {
			errs = append(errs, FieldError{field, err})
		}
	}
	typ := PoolType(s.Type)
	if !slices.Contains(DefinableTypes, typ) {
		return errors.Join(FieldError{"type", fmt.Errorf("pool type %q: stowage defines %s", s.Type, typeList())})
	}
	add("name", ValidateNewPoolName(s.Name, existing))
	need := func(field, v, what string, check func(string) error) {
		if v == "" {
			add(field, fmt.Errorf("%s pools need --%s: %s", typ, field, what))
			return
		}
		add(field, check(v))
	}
	switch typ {
	case PoolDir:
		need("target", s.Path, "the directory, e.g. /var/lib/libvirt/images", ValidatePoolDir)
	case PoolFS:
		need("target", s.Path, "the mount point, e.g. /srv/pools/fast", ValidatePoolDir)
		add("source-dev", oneDevice(typ, s.Devices))
		add("format", ValidatePoolFormat(typ, s.Format, s.Build))
	case PoolNetFS:
		need("target", s.Path, "the mount point, e.g. /srv/pools/nfs", ValidatePoolDir)
		need("source-host", s.SourceHost, "the NFS server, e.g. nas.example.org", ValidateHost)
		need("source-path", s.SourcePath, "the export, e.g. /exports/vms", ValidateExportPath)
		add("format", ValidatePoolFormat(typ, s.Format, false))
	case PoolLogical:
		need("source-name", s.VG, "the volume group (an existing one, or a new one with --source-dev)", ValidateVGName)
		for _, d := range s.Devices {
			add("source-dev", ValidateDevicePath(d))
		}
		add("source-dev", noDuplicates(s.Devices))
	case PoolDisk:
		add("source-dev", oneDevice(typ, s.Devices))
		add("format", ValidatePoolFormat(typ, s.Format, s.Build))
	case PoolRBD:
		if len(s.Monitors) == 0 {
			add("monitor", fmt.Errorf("an rbd pool needs --monitor: a Ceph monitor as host[:port], e.g. 10.0.0.1:6789 (repeat for more)"))
		}
		for _, m := range s.Monitors {
			add("monitor", ValidateMonitor(m))
		}
		need("ceph-pool", s.CephPool, "the Ceph pool, e.g. rbd", ValidateCephName("Ceph pool"))
		need("ceph-user", s.CephUser, "the cephx user without 'client.', e.g. libvirt", ValidateCephUser)
		if s.CephSecretUUID != "" {
			add("ceph-secret", ValidateUUID(s.CephSecretUUID))
		}
	case PoolISCSI, PoolISCSIDirect:
		need("portal", s.Portal, "the target's portal, host[:port], e.g. 10.0.0.5:3260", func(v string) error {
			_, _, err := ParsePortal(v)
			return err
		})
		need("iqn", s.IQN, "the target's IQN, e.g. iqn.2026-11.org.example:san1", validateIQNField)
		if typ == PoolISCSIDirect {
			need("initiator", s.Initiator, "the IQN this host logs in as (libiscsi needs one), e.g. iqn.2026-11.org.example:host1", validateIQNField)
		} else if s.Initiator != "" {
			add("initiator", validateIQNField(s.Initiator))
		}
		if s.CHAPUser != "" && strings.ContainsAny(s.CHAPUser, " \t\r\n") {
			add("chap-user", fmt.Errorf("CHAP user %q contains white space", s.CHAPUser))
		}
	}
	add("build", validateBuild(s))
	return errors.Join(errs...)
}

func typeList() string {
	var names []string
	for _, t := range DefinableTypes {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

func validateBuild(s PoolSpec) error {
	typ := PoolType(s.Type)
	switch {
	case s.Build && (typ == PoolRBD || typ == PoolISCSI || typ == PoolISCSIDirect):
		return fmt.Errorf("a %s pool has nothing to build: drop --build", typ)
	case s.Build && typ == PoolLogical && len(s.Devices) == 0:
		return fmt.Errorf("--build on a logical pool makes a new VG: name its devices with --source-dev; an existing VG needs no build")
	case s.Overwrite && !(typ == PoolFS || typ == PoolDisk || typ == PoolLogical):
		return fmt.Errorf("--overwrite applies to fs (mkfs), disk (a new label) and logical (a new VG) pools, not %s", typ)
	case s.Overwrite && typ != PoolLogical && !s.Build:
		return fmt.Errorf("--overwrite goes with --build (it lets the build destroy what the device holds)")
	case s.Overwrite && typ == PoolLogical && len(s.Devices) == 0:
		return fmt.Errorf("--overwrite on a logical pool applies to a new VG's devices (--source-dev)")
	}
	return nil
}

// FieldErrors lists the FieldErrors in err (ValidateDefine's result), so
// a form can show each under its field.
func FieldErrors(err error) []FieldError {
	var out []FieldError
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			var fe FieldError
			if errors.As(e, &fe) {
				out = append(out, fe)
			}
		}
	}
	return out
}

// ValidateNewPoolName checks a pool name and that the host has no pool of
// that name.
func ValidateNewPoolName(name string, existing []string) error {
	if err := ValidatePoolName(name); err != nil {
		return err
	}
	if slices.Contains(existing, name) {
		return fmt.Errorf("pool %q exists on this host: pick another name (stowage never redefines a pool it did not make)", name)
	}
	return nil
}

// ValidatePoolDir checks a directory for a pool: absolute, clean, not /.
func ValidatePoolDir(p string) error {
	if err := absolute("directory", p); err != nil {
		return err
	}
	if p == "/" {
		return fmt.Errorf("directory %q: the root directory cannot be a pool; give a directory of its own, e.g. /var/lib/libvirt/images", p)
	}
	return nil
}

// ValidateExportPath checks an NFS export path: absolute and clean.
func ValidateExportPath(p string) error { return absolute("export path", p) }

// ValidateDevicePath checks a block device path: absolute, clean, under /dev.
func ValidateDevicePath(p string) error {
	if err := absolute("device", p); err != nil {
		return err
	}
	if !strings.HasPrefix(p, "/dev/") {
		return fmt.Errorf("device %q is not under /dev: give a block device, e.g. /dev/sdb or /dev/disk/by-path/… (for an image file, attach it first with losetup)", p)
	}
	return nil
}

func absolute(what, p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%s is empty: give an absolute path", what)
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("%s %q is relative: give an absolute path, e.g. /%s", what, p, strings.TrimLeft(p, "./"))
	case strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return fmt.Errorf("%s %q contains a control character", what, p)
	case path.Clean(p) != p:
		return fmt.Errorf("%s %q is not clean: write %q", what, p, path.Clean(p))
	}
	return nil
}

func oneDevice(typ PoolType, devs []string) error {
	switch len(devs) {
	case 0:
		return fmt.Errorf("a %s pool needs --source-dev: one block device, e.g. /dev/sdb", typ)
	case 1:
		return ValidateDevicePath(devs[0])
	}
	return fmt.Errorf("a %s pool takes one --source-dev, not %d", typ, len(devs))
}

func noDuplicates(devs []string) error {
	seen := map[string]bool{}
	for _, d := range devs {
		if seen[d] {
			return fmt.Errorf("device %q is given twice", d)
		}
		seen[d] = true
	}
	return nil
}

// ValidatePoolFormat checks the format of an fs, netfs or disk pool; build
// says the format will be made (fs: "auto" cannot be).
func ValidatePoolFormat(typ PoolType, f string, build bool) error {
	var allowed []string
	switch typ {
	case PoolFS:
		allowed = FSFormats
		if f == "auto" && build {
			return fmt.Errorf("format auto cannot be built: name the filesystem mkfs should make, e.g. ext4 or xfs")
		}
	case PoolNetFS:
		allowed = NetFSFormats
	case PoolDisk:
		allowed = DiskFormats
	default:
		return nil
	}
	if f == "" || slices.Contains(allowed, f) {
		return nil
	}
	return fmt.Errorf("%s format %q: use one of %s", typ, f, strings.Join(allowed, ", "))
}

// ValidateMonitor checks a Ceph monitor, host[:port].
func ValidateMonitor(m string) error {
	host, port := m, ""
	if i := strings.LastIndexByte(m, ':'); i >= 0 && !strings.HasSuffix(m, "]") && strings.Count(m, ":") == 1 {
		host, port = m[:i], m[i+1:]
		if n, err := strconv.Atoi(port); err != nil || !allDigits(port) || n < 1 || n > 65535 {
			return fmt.Errorf("monitor %q: port %q is not a number from 1 to 65535 (the default is 6789)", m, port)
		}
	}
	if err := ValidateHost(host); err != nil {
		return fmt.Errorf("monitor %q: %w; write host or host:port, e.g. 10.0.0.1:6789", m, err)
	}
	return nil
}

// ValidateCephName returns a check for a Ceph pool name.
func ValidateCephName(what string) func(string) error {
	return func(v string) error {
		if strings.ContainsAny(v, "/@ \t\r\n") {
			return fmt.Errorf("%s %q: may not contain '/', '@' or white space", what, v)
		}
		return nil
	}
}

// ValidateCephUser checks a cephx user name as libvirt takes it.
func ValidateCephUser(v string) error {
	if strings.HasPrefix(v, "client.") {
		return fmt.Errorf("cephx user %q: give it without 'client.', i.e. %q", v, strings.TrimPrefix(v, "client."))
	}
	return ValidateCephName("cephx user")(v)
}

// ValidateUUID checks a libvirt UUID in its 8-4-4-4-12 text form.
func ValidateUUID(u string) error {
	if len(u) != 36 {
		return fmt.Errorf("uuid %q: want 8-4-4-4-12 hex digits, e.g. 5a7d0e1c-3b2f-4c55-9e60-57a6e1ab0001", u)
	}
	for i, r := range u {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if r != '-' {
				return fmt.Errorf("uuid %q: want '-' at position %d", u, i+1)
			}
		} else if !isHex(r) {
			return fmt.Errorf("uuid %q: %q is not a hex digit", u, r)
		}
	}
	return nil
}

func validateIQNField(v string) error {
	_, err := ValidateISCSIName(v)
	return err
}

// ConfirmOverwrite checks the typed confirmation of a destructive build:
// the admin must type the pool's name.
func ConfirmOverwrite(s PoolSpec, typed string) error {
	if s.BuildMode() != BuildOverwrite {
		return nil
	}
	if typed != s.Name {
		return fmt.Errorf("--overwrite destroys what %s holds: confirm by typing the pool name (--confirm %s)", strings.Join(s.Devices, ", "), s.Name)
	}
	return nil
}

// DefinePlan lists the steps that define s: the secret (rbd with a new
// cephx secret, CHAP), define, build (BuildMode), start (unless NoStart),
// autostart (if asked). Rolling back undoes the finished ones in reverse.
func DefinePlan(s PoolSpec) []Step {
	var steps []Step
	typ := PoolType(s.Type)
	switch {
	case typ == PoolRBD && s.CephSecretUUID == "":
		steps = append(steps, Step{ID: StepPoolSecret, Title: "define the cephx secret (private)"})
	case (typ == PoolISCSI || typ == PoolISCSIDirect) && s.CHAPUser != "":
		steps = append(steps, Step{ID: StepPoolSecret, Title: "define the CHAP secret (private)"})
	}
	steps = append(steps, Step{ID: StepPoolDefine, Title: "define " + s.Type + " pool " + s.Name})
	if t := buildTitle(s); t != "" {
		steps = append(steps, Step{ID: StepPoolBuild, Title: t})
	}
	if !s.NoStart {
		steps = append(steps, Step{ID: StepPoolStart, Title: startTitle(typ)})
	}
	if s.Autostart {
		steps = append(steps, Step{ID: StepPoolAutostart, Title: "mark autostart"})
	}
	return steps
}

func buildTitle(s PoolSpec) string {
	devs := strings.Join(s.Devices, ", ")
	over := ""
	if s.BuildMode() == BuildOverwrite {
		over = ", OVERWRITING what is there"
	}
	switch s.BuildMode() {
	case BuildMkdir:
		return "build (create the directory " + s.Path + ")"
	case BuildNone:
		return ""
	}
	switch PoolType(s.Type) {
	case PoolFS:
		return fmt.Sprintf("build (mkfs %s on %s%s)", s.Format, devs, over)
	case PoolLogical:
		return fmt.Sprintf("build (pvcreate, vgcreate %s on %s%s)", s.VG, devs, over)
	case PoolDisk:
		return fmt.Sprintf("build (write a %s label on %s%s)", s.Format, devs, over)
	}
	return ""
}

func startTitle(typ PoolType) string {
	switch typ {
	case PoolFS, PoolNetFS:
		return "start (mount)"
	case PoolLogical:
		return "start (activate the VG)"
	case PoolISCSI:
		return "start (log in to the target)"
	}
	return "start"
}

// VirshDefine is the virsh equivalent of s's plan, for the review screen
// and --help (the XML is pool-define's file).
func VirshDefine(s PoolSpec, xmlFile string) []string {
	out := []string{}
	for _, st := range DefinePlan(s) {
		switch st.ID {
		case StepPoolSecret:
			out = append(out, "virsh secret-define SECRET.xml && virsh secret-set-value UUID --file KEYFILE")
		case StepPoolDefine:
			out = append(out, "virsh pool-define "+xmlFile)
		case StepPoolBuild:
			cmd := "virsh pool-build " + s.Name
			switch s.BuildMode() {
			case BuildNoOverwrite:
				cmd += " --no-overwrite"
			case BuildOverwrite:
				cmd += " --overwrite"
			}
			out = append(out, cmd)
		case StepPoolStart:
			out = append(out, "virsh pool-start "+s.Name)
		case StepPoolAutostart:
			out = append(out, "virsh pool-autostart "+s.Name)
		}
	}
	return out
}
