package render

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dustin/go-humanize"

	"stowage/model"
)

// Names as libvirt and Ceph may hand them over: an ESC sequence, an 8-bit
// CSI, a DEL, a right-to-left override, a BEL, a newline.
const (
	evilPool   = "p\x1b[31mred"
	evilVol    = "v\u009b2J\x7f"
	evilVM     = "vm\u202eevil"
	evilURI    = "test:///h\x1b]0;title\x07"
	evilReason = "no backend\nsecond line"
)

func fixture() model.HostInfo {
	enc := &model.Encryption{Format: "luks", SecretUUID: "s-1"}
	return model.HostInfo{
		URI: "qemu:///system", LibvirtVersion: "9.0.0", HypervisorVersion: "7.2.0",
		Pools: []model.PoolInfo{
			{Pool: model.Pool{Name: "images", Type: model.PoolDir, Active: true, Persistent: true, Autostart: true,
				Capacity: 100 << 30, Allocation: 25 << 30, Available: 75 << 30},
				CanCreateVolumes: true, CreateReason: "dir pools create files",
				Encryption: []model.EncryptionKind{model.EncQEMULUKS},
				Volumes: []model.VolumeInfo{
					{Volume: model.Volume{Name: "plain.raw", Pool: "images", Format: "raw", Capacity: 1 << 30, Allocation: 1 << 20},
						AttachedTo: []model.Attachment{{VM: "web1", Target: "vda"}, {VM: "db1", Target: "vdb"}}, Loaded: true},
					{Volume: model.Volume{Name: "vault.luks", Pool: "images", Format: "raw", Capacity: 10 << 30, Encryption: enc},
						SecretState: model.SecretPresent, Loaded: true},
					{Volume: model.Volume{Name: "gone.luks", Pool: "images", Encryption: enc}, SecretState: model.SecretMissing, Loaded: true},
					{Volume: model.Volume{Name: "empty.luks", Pool: "images", Encryption: enc}, SecretState: model.SecretNoValue, Loaded: true},
					{Volume: model.Volume{Name: "priv.luks", Pool: "images", Encryption: enc}, SecretState: model.SecretPrivate, Loaded: true},
					{Volume: model.Volume{Name: "later.qcow2", Pool: "images"}},
				}},
			// Inactive but of a type that creates drives: "yes, once started".
			{Pool: model.Pool{Name: "cold", Type: model.PoolDir}, CanCreateVolumes: true, CreateReason: "dir pools create files"},
			{Pool: model.Pool{Name: "rbd", Type: model.PoolRBD, Active: true, Capacity: 8 << 30, Allocation: 8 << 30},
				CanCreateVolumes: true, Encryption: []model.EncryptionKind{model.EncLibrbdLUKS1, model.EncLibrbdLUKS2},
				Volumes: []model.VolumeInfo{{Volume: model.Volume{Name: "db-backup", Pool: "rbd", Format: "raw", Capacity: 1 << 30},
					DiskEncryption: &model.Encryption{Format: "luks2", Engine: "librbd"}, SecretState: model.SecretUnknown, Loaded: true}}},
			{Pool: model.Pool{Name: "san", Type: model.PoolISCSIDirect, Active: true}, CreateReason: "iSCSI pools only expose LUNs"},
		},
		Domains: []model.Domain{
			{Name: "db1", State: "shut off"},
			{Name: "web1", State: "running", Disks: []model.Disk{
				{Target: "vda", Bus: "virtio", Device: "disk", Source: "/var/lib/libvirt/images/plain.raw"},
				{Target: "vdb", Bus: "virtio", Device: "disk", Source: "/var/lib/libvirt/images/vault.luks", Encryption: enc},
				{Target: "hdc", Bus: "sata", Device: "cdrom"},
			}},
		},
		Secrets: []model.SecretInfo{
			{Secret: model.Secret{UUID: "s-1", UsageType: "volume", UsageID: "/var/lib/libvirt/images/vault.luks", Private: true},
				Value: model.ValuePrivate},
			{Secret: model.Secret{UUID: "s-2", UsageType: "ceph"}, Value: model.ValueSet, Orphan: "its volume is gone"},
		},
		SecretsKnown: true,
	}
}

// evil is the fixture with control characters in every name and reason.
func evil() model.HostInfo {
	h := fixture()
	h.URI, h.LibvirtVersion = evilURI, "9\x1b[0m"
	h.Errors = []string{"read " + evilPool + ": " + evilReason}
	p := &h.Pools[0]
	p.Name, p.CreateReason = evilPool, evilReason
	p.CanCreateVolumes = false
	p.Volumes[0].Name, p.Volumes[0].Format = evilVol, "raw\x1b"
	p.Volumes[0].AttachedTo[0].VM = evilVM
	p.Volumes[2].Name = evilVol + "2" // its secret is missing: the secrets table names it
	h.Domains[1].Name = evilVM
	h.Domains[1].Disks[0].Source = "/dev/\x1b[2J"
	h.Secrets[0].UsageID = "/images/" + evilVol
	h.Secrets[1].Orphan = "volume " + evilVol + " is gone"
	return h
}

func cell(t *testing.T, titles []string, r Row, title string) string {
	t.Helper()
	for i, c := range titles {
		if c == title {
			return r.Cells[i]
		}
	}
	t.Fatalf("no column %q in %v", title, titles)
	return ""
}

func cliTable(t *testing.T, h model.HostInfo, first string) Table {
	t.Helper()
	_, tables := Inventory(h)
	for _, tb := range tables {
		if tb.Columns[0] == first {
			return tb
		}
	}
	t.Fatalf("no CLI table starting with %s", first)
	return Table{}
}

func cliCell(t *testing.T, tb Table, row int, title string) string {
	t.Helper()
	for i, c := range tb.Columns {
		if c == title {
			return tb.Rows[row][i]
		}
	}
	t.Fatalf("no CLI column %q in %v", title, tb.Columns)
	return ""
}

// The bug issue 11 names: the CLI said an inactive pool "can create"
// ("yes"), where the console says "yes, once started". Both now say it.
func TestInactivePoolCanCreateOnceStarted(t *testing.T) {
	h := fixture()
	cold := h.Pools[1]
	if got := cell(t, PoolColumns(), PoolRow(cold, ""), "CAN CREATE DRIVES"); got != "yes, once started" {
		t.Errorf("console: inactive dir pool can create = %q, want %q", got, "yes, once started")
	}
	if got := cliCell(t, cliTable(t, h, "POOL"), 1, "CAN CREATE DRIVES"); got != "yes, once started" {
		t.Errorf("CLI: inactive dir pool can create = %q, want %q", got, "yes, once started")
	}
	if got := cliCell(t, cliTable(t, h, "POOL"), 0, "CAN CREATE DRIVES"); got != "yes" {
		t.Errorf("CLI: active dir pool can create = %q, want yes", got)
	}
	if d := PoolDetail(cold, ""); d != "cold: can create drives: yes, once started. Encryption: -." {
		t.Errorf("detail = %q", d)
	}
}

func TestCanCreateReasons(t *testing.T) {
	san := fixture().Pools[3]
	if got := canCreate(san, ""); got != "no: iSCSI pools only expose LUNs" {
		t.Errorf("without the wizard: %q", got)
	}
	want := "no: LUNs are made on the target; layer LVM on them: press L for the LVM-on-iSCSI wizard"
	if got := canCreate(san, "L"); got != want {
		t.Errorf("with the wizard's key: %q, want %q", got, want)
	}
	if got := cliCell(t, cliTable(t, fixture(), "POOL"), 3, "CAN CREATE DRIVES"); got != "no: iSCSI pools only expose LUNs" {
		t.Errorf("CLI names the reason, never a key: %q", got)
	}
}

func TestPoolRow(t *testing.T) {
	h := fixture()
	r := PoolRow(h.Pools[0], "")
	want := []string{"images", "dir", "active", "yes", "yes", "100 GiB", "25 GiB", "75 GiB", "██░░░░░░░░  25%", "yes", "luks (qemu)"}
	if strings.Join(r.Cells, "|") != strings.Join(want, "|") {
		t.Errorf("row\n got %q\nwant %q", r.Cells, want)
	}
	if r.Mark != Plain || PoolRow(h.Pools[1], "").Mark != Idle {
		t.Error("an active pool reads plain, an inactive one idle")
	}
	if got := cell(t, PoolColumns(), PoolRow(h.Pools[1], ""), "USAGE"); got != "··········" {
		t.Errorf("usage of an empty pool = %q", got)
	}
	if got := cell(t, PoolColumns(), PoolRow(h.Pools[2], ""), "ENCRYPTION"); got != "luks (librbd), luks2 (librbd)" {
		t.Errorf("rbd encryption = %q", got)
	}
}

func TestVolumeRows(t *testing.T) {
	vols := fixture().Pools[0].Volumes
	cols := VolumeColumns()
	cases := []struct {
		v                       model.VolumeInfo
		capacity, enc, sec, att string
		mark                    Mark
	}{
		{vols[0], "1.0 GiB", "-", "-", "web1:vda, db1:vdb", Plain},
		{vols[1], "10 GiB", "luks (qemu)", "present", "-", Plain},
		{vols[2], "0 B", "luks (qemu)", "MISSING", "-", Broken},
		{vols[3], "0 B", "luks (qemu)", "no value!", "-", Attention},
		{vols[4], "0 B", "luks (qemu)", "present (private)", "-", Plain},
		{vols[5], "…", "-", "-", "-", Plain},
		{fixture().Pools[2].Volumes[0], "1.0 GiB", "luks2 (librbd, VM disk)", "unknown", "-", Plain},
	}
	for _, c := range cases {
		r := VolumeRow(c.v.Pool, c.v)
		for title, want := range map[string]string{"CAPACITY": c.capacity, "ENCRYPTION": c.enc, "SECRET": c.sec, "ATTACHED TO": c.att} {
			if got := cell(t, cols, r, title); got != want {
				t.Errorf("%s: %s = %q, want %q", c.v.Name, title, got, want)
			}
		}
		if r.Mark != c.mark {
			t.Errorf("%s: mark %d, want %d", c.v.Name, r.Mark, c.mark)
		}
	}
}

func TestVMRows(t *testing.T) {
	h := fixture()
	if got := VMRow(h.Domains[0], nil); strings.Join(got.Cells, "|") != "db1|shut off|-|-|-|-|-" || got.Mark != Idle {
		t.Errorf("VM without disks: %q mark %d", got.Cells, got.Mark)
	}
	web := h.Domains[1]
	if got := VMRow(web, &web.Disks[1]); strings.Join(got.Cells, "|") != "web1|running|vdb|virtio|disk|/var/lib/libvirt/images/vault.luks|luks (qemu)" || got.Mark != Plain {
		t.Errorf("encrypted disk: %q mark %d", got.Cells, got.Mark)
	}
	if got := cell(t, VMColumns(), VMRow(web, &web.Disks[2]), "SOURCE"); got != "-" {
		t.Errorf("an empty cdrom's source = %q, want -", got)
	}
}

func TestSecretRows(t *testing.T) {
	h := fixture()
	if r := SecretRow(h.Secrets[0]); strings.Join(r.Cells, "|") != "s-1|volume /var/lib/libvirt/images/vault.luks|yes|no|private|-" || r.Mark != Plain {
		t.Errorf("secret: %q mark %d", r.Cells, r.Mark)
	}
	if r := SecretRow(h.Secrets[1]); cell(t, SecretColumns(), r, "USAGE") != "ceph" || r.Mark != Attention {
		t.Errorf("orphan without usage id: %q mark %d", r.Cells, r.Mark)
	}
	if r := MissingSecretRow("images/gone.luks (secret s-1)"); r.Cells[0] != "(missing)" || r.Cells[1] != "volume images/gone.luks (secret s-1)" || r.Mark != Broken {
		t.Errorf("missing secret: %q mark %d", r.Cells, r.Mark)
	}
	if got := SecretsEmpty("test:///default"); !strings.Contains(got, "test:///default has no secret API") {
		t.Errorf("empty on a host without secrets: %q", got)
	}
}

func TestHostRows(t *testing.T) {
	now := time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)
	info := fixture()
	cases := []struct {
		st            model.Status
		loaded        bool
		errs          []string
		state, detail string
		mark          Mark
	}{
		{model.Status{State: model.StateDisconnected, Reason: "refused", NextRetry: now.Add(4 * time.Second)}, true, nil,
			"disconnected", "retry in 4s: refused", Broken},
		{model.Status{State: model.StateDegraded, Reason: "slow"}, true, nil, "degraded", "slow", Attention},
		{model.Status{State: model.StateConnected}, true, []string{"a", "b"}, "connected", "b", Attention},
		{model.Status{State: model.StateConnected}, true, nil, "connected", "", Fine},
		{model.Status{State: model.StateConnected}, false, nil, "connecting", "", Idle},
	}
	for _, c := range cases {
		info.Errors = c.errs
		r := HostRow("qemu:///system", c.st, c.loaded, info, now)
		want := []string{"qemu:///system", c.state, "9.0.0", "7.2.0", "4", "2", c.detail}
		if strings.Join(r.Cells, "|") != strings.Join(want, "|") || r.Mark != c.mark {
			t.Errorf("%v loaded=%v: %q mark %d, want %q mark %d", c.st.State, c.loaded, r.Cells, r.Mark, want, c.mark)
		}
	}
	if r := HostRow("x", model.Status{}, false, model.HostInfo{}, now); r.Cells[2] != "-" || r.Cells[3] != "-" {
		t.Errorf("versions not yet known: %q", r.Cells)
	}
}

// cliAlias maps the CLI's column titles onto the console's where the
// console abbreviates them.
var cliAlias = map[string]string{"AUTOSTART": "AUTO", "PERSISTENT": "PERS", "ALLOCATION": "ALLOC", "AVAILABLE": "AVAIL"}

// sizeColumns print bytes in the CLI, binary units on screen.
var sizeColumns = map[string]bool{"CAPACITY": true, "ALLOC": true, "AVAIL": true}

// Every column the CLI and the console share says the same thing, row by
// row: the console's size in bytes, every label word for word.
func TestCLIAndConsoleAgree(t *testing.T) {
	for _, h := range []model.HostInfo{fixture(), evil()} {
		_, tables := Inventory(h)
		var console [][]string
		var titles []string
		for _, tb := range tables {
			switch tb.Columns[0] {
			case "POOL":
				titles, console = PoolColumns(), nil
				for _, p := range h.Pools {
					console = append(console, PoolRow(p, "").Cells)
				}
			case "VOLUME":
				titles, console = VolumeColumns(), nil
				for _, p := range h.Pools {
					for _, v := range p.Volumes {
						v.Loaded = true // the CLI prints what it read; the console waits with "…"
						console = append(console, VolumeRow(p.Name, v).Cells)
					}
				}
			case "VM":
				titles, console = VMColumns(), nil
				for _, d := range h.Domains {
					if len(d.Disks) == 0 {
						console = append(console, VMRow(d, nil).Cells)
					}
					for k := range d.Disks {
						console = append(console, VMRow(d, &d.Disks[k]).Cells)
					}
				}
			case "SECRET":
				// The secrets table's SECRET is the console's UUID.
				titles, console = append([]string{"SECRET"}, SecretColumns()[1:]...), nil
				for _, s := range h.Secrets {
					console = append(console, SecretRow(s).Cells)
				}
				for _, m := range h.MissingSecrets() {
					console = append(console, MissingSecretRow(m).Cells)
				}
			default:
				t.Fatalf("unexpected CLI table %v", tb.Columns)
			}
			if len(tb.Rows) != len(console) {
				t.Fatalf("%s: CLI %d rows, console %d", tb.Columns[0], len(tb.Rows), len(console))
			}
			at := map[string]int{}
			for i, c := range titles {
				at[c] = i
			}
			for ci, title := range tb.Columns {
				name := title
				if a, ok := cliAlias[title]; ok {
					name = a
				}
				i, ok := at[name]
				if !ok {
					t.Errorf("CLI column %s has no console column", title)
					continue
				}
				for r := range tb.Rows {
					got, want := tb.Rows[r][ci], console[r][i]
					if sizeColumns[name] {
						n, err := strconv.ParseUint(got, 10, 64)
						if err != nil {
							t.Errorf("%s row %d: CLI size %q is not bytes", title, r, got)
							continue
						}
						got = humanize.IBytes(n)
					}
					if got != want {
						t.Errorf("%s row %d: CLI says %q, console %q", title, r, got, want)
					}
				}
			}
		}
	}
}

// unsafeText reports a string that still holds a control character, an
// 8-bit control or a bidi override: SafeText would change it.
func unsafeText(s string) bool { return model.SafeText(s) != s }

// Names are escaped once, here: every cell and text render returns is
// safe to write to a terminal, and shows the name's escapes.
func TestNamesAreEscaped(t *testing.T) {
	h := evil()
	var texts []string
	add := func(r Row) { texts = append(texts, r.Cells...) }
	for _, p := range h.Pools {
		add(PoolRow(p, "\x1b"))
		texts = append(texts, PoolDetail(p, "L"))
		for _, v := range p.Volumes {
			add(VolumeRow(p.Name, v))
		}
		texts = append(texts, VolumesTitle(p.Name, &p), VolumesEmpty(&p))
	}
	for _, d := range h.Domains {
		add(VMRow(d, nil))
		for k := range d.Disks {
			add(VMRow(d, &d.Disks[k]))
		}
	}
	for _, s := range h.Secrets {
		add(SecretRow(s))
	}
	for _, m := range h.MissingSecrets() {
		add(MissingSecretRow(m))
	}
	add(HostRow(h.URI, model.Status{State: model.StateConnected}, true, h, time.Now()))
	add(HostRow(h.URI, model.Status{State: model.StateDisconnected, Reason: evilReason}, true, h, time.Now()))
	add(OnHost(h.URI, Row{}))
	texts = append(texts, PoolsTitle(h.URI), SecretsEmpty(h.URI), PoolsEmpty(true, true, []Offer{{Key: "\x1b", Desc: evilPool}}, true))
	heading, tables := Inventory(h)
	texts = append(texts, heading)
	for _, tb := range tables {
		texts = append(texts, tb.Columns...)
		for _, r := range tb.Rows {
			texts = append(texts, r...)
		}
	}
	for _, s := range texts {
		// PoolsEmpty's lines are the only text with newlines of its own.
		if unsafeText(strings.ReplaceAll(s, "\n", "")) {
			t.Errorf("raw control in %q", s)
		}
	}
	all := strings.Join(texts, "\n")
	for _, shown := range []string{`p\x1b[31mred`, `v\u009b2J\x7f`, `vm\u202eevil`, `test:///h\x1b]0;title\x07`, `no backend\x0asecond line`, `/dev/\x1b[2J`} {
		if !strings.Contains(all, shown) {
			t.Errorf("no cell shows %s", shown)
		}
	}
	// Escaped exactly once: an escape's backslash is not escaped again.
	if strings.Contains(all, `\\x1b`) {
		t.Error("a name was escaped twice")
	}
}

func TestColumnsMatchRows(t *testing.T) {
	h := fixture()
	for name, c := range map[string]struct {
		cols []string
		row  Row
	}{
		"hosts":   {HostColumns(), HostRow(h.URI, model.Status{}, false, h, time.Now())},
		"pools":   {PoolColumns(), PoolRow(h.Pools[0], "")},
		"volumes": {VolumeColumns(), VolumeRow("images", h.Pools[0].Volumes[0])},
		"vms":     {VMColumns(), VMRow(h.Domains[0], nil)},
		"secrets": {SecretColumns(), SecretRow(h.Secrets[0])},
	} {
		if len(c.cols) != len(c.row.Cells) {
			t.Errorf("%s: %d columns, %d cells", name, len(c.cols), len(c.row.Cells))
		}
	}
	_, tables := Inventory(h)
	for _, tb := range tables {
		for _, r := range tb.Rows {
			if len(r) != len(tb.Columns) {
				t.Errorf("CLI %s: %d columns, row of %d", tb.Columns[0], len(tb.Columns), len(r))
			}
		}
	}
}
