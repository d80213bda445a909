package views_test

import (
	"strings"
	"testing"

	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/data"
	"stowage/ui/keys"
	"stowage/ui/table"
	"stowage/ui/views"
	"stowage/ui/views/kind"
)

// hostileHost carries control characters in every name the views show:
// an ESC sequence, an 8-bit CSI, a DEL, a right-to-left override.
func hostileHost(uri string) data.Host {
	enc := &model.Encryption{Format: "luks", SecretUUID: "s-1"}
	info := model.HostInfo{URI: uri, LibvirtVersion: "9.0.0", SecretsKnown: true,
		Pools: []model.PoolInfo{
			{Pool: model.Pool{Name: "p\x1b[31m", Type: model.PoolDir, Active: true, Capacity: 1 << 30},
				CanCreateVolumes: true, VolumesLoaded: true, Volumes: []model.VolumeInfo{
					{Volume: model.Volume{Name: "v\u009b2J", Pool: "p\x1b[31m", Encryption: enc}, SecretState: model.SecretMissing,
						AttachedTo: []model.Attachment{{VM: "vm\u202e", Target: "vdb"}}, Loaded: true},
				}},
			{Pool: model.Pool{Name: "cold\x7f", Type: model.PoolDir}, CanCreateVolumes: true},
			{Pool: model.Pool{Name: "san\x1b", Type: model.PoolISCSIDirect, Active: true}, CreateReason: "LUNs only\x1b[2J"},
		},
		Domains: []model.Domain{{Name: "vm\u202e", State: "running", Disks: []model.Disk{{Target: "vdb", Source: "/x/\x1b]0;t\x07"}}},
			{Name: "off\x1b", State: "shut off"}},
		Secrets: []model.SecretInfo{{Secret: model.Secret{UUID: "s-9", UsageType: "volume", UsageID: "/x/\u009b"}, Orphan: "gone \x1b"}},
		Errors:  []string{"read p\x1b[31m: failed"},
	}
	return data.Host{URI: uri, Status: model.Status{State: model.StateConnected}, Info: info, Loaded: true}
}

func ctx(scope kind.Scope, acts common.Actions) kind.Ctx {
	// The second host has no secret API: the secrets view says so, by URI.
	b := hostileHost("test:///b\u202e")
	b.Info.SecretsKnown = false
	return kind.Ctx{Store: &data.Store{Hosts: []data.Host{hostileHost("test:///a\x1b[1m"), b}},
		Scope: scope, Keys: keys.Default(), Actions: acts}
}

// raw reports a control character SafeText would escape; the newlines of
// multi-line messages (Empty) are the views' own.
func raw(s string) bool {
	s = strings.ReplaceAll(s, "\n", "")
	return model.SafeText(s) != s
}

// Every text a view hands the list (title, cells, empty message, detail)
// is escaped, by render: the list and the table draw it as it is. And
// every row has a cell per column, over one host and over several.
func TestViewsEscapeAndMatchColumns(t *testing.T) {
	wizard := common.Actions{LVMOnISCSI: func(common.DriveTarget) common.Component { return nil }}
	scopes := []kind.Scope{kind.All, {Host: 0}, {Host: 1, Pool: "p\x1b[31m"}, {Host: 0, Pool: "cold\x7f"}}
	for name, k := range views.Registry() {
		for _, scope := range scopes {
			for _, acts := range []common.Actions{{}, wizard} {
				c := ctx(scope, acts)
				cols := k.Columns(c)
				rows := k.Rows(c)
				texts := []string{k.Title(c), k.Empty(c)}
				for _, r := range rows {
					if len(r.Cells) != len(cols) {
						t.Errorf("%s %+v: %d columns, row %q has %d cells", name, scope, len(cols), r.Key, len(r.Cells))
					}
					texts = append(texts, r.Cells...)
					if d, ok := k.(kind.Detailer); ok {
						texts = append(texts, d.Detail(c, r.Key))
					}
				}
				for _, s := range texts {
					if raw(s) {
						t.Errorf("%s %+v: raw control in %q", name, scope, s)
					}
				}
			}
		}
	}
}

func poolRow(t *testing.T, c kind.Ctx, name string) table.Row {
	t.Helper()
	for _, r := range views.Registry()["pools"].Rows(c) {
		if _, id := kind.SplitKey(r.Key); id == name {
			return r
		}
	}
	t.Fatalf("no pool row %q", name)
	return table.Row{}
}

func column(t *testing.T, c kind.Ctx, title string) int {
	t.Helper()
	for i, col := range views.Registry()["pools"].Columns(c) {
		if col.Title == title {
			return i
		}
	}
	t.Fatalf("no pools column %q", title)
	return -1
}

// The console's pools say what the CLI says (render): an inactive pool
// can create drives once started; an iSCSI pool names the wizard's key
// exactly where the wizard is offered.
func TestPoolsCanCreateLabels(t *testing.T) {
	c := ctx(kind.Scope{Host: 0}, common.Actions{})
	can := column(t, c, "CAN CREATE DRIVES")
	if r := poolRow(t, c, "cold\x7f"); r.Cells[can] != "yes, once started" || r.Tone != table.Muted {
		t.Errorf("inactive pool: %q tone %d", r.Cells[can], r.Tone)
	}
	if got := poolRow(t, c, "san\x1b").Cells[can]; got != `no: LUNs only\x1b[2J` {
		t.Errorf("iSCSI pool under --readonly: %q", got)
	}
	c.Actions.LVMOnISCSI = func(common.DriveTarget) common.Component { return nil }
	key := c.Keys.LVMOnISCSI.Help().Key
	if got := poolRow(t, c, "san\x1b").Cells[can]; !strings.Contains(got, "press "+key+" for the LVM-on-iSCSI wizard") {
		t.Errorf("iSCSI pool with the wizard: %q", got)
	}
	many := ctx(kind.All, common.Actions{})
	if r := poolRow(t, many, "cold\x7f"); r.Cells[0] != `test:///a\x1b[1m` || r.Cells[column(t, many, "CAN CREATE DRIVES")] != "yes, once started" {
		t.Errorf("over several hosts: %q", r.Cells)
	}
}

// Marks become tones: a volume whose secret is gone reads as broken, a
// stopped VM as muted.
func TestTones(t *testing.T) {
	c := ctx(kind.Scope{Host: 0}, common.Actions{})
	vols := views.Registry()["volumes"].Rows(c)
	if len(vols) != 1 || vols[0].Tone != table.Bad {
		t.Errorf("volume with a missing secret: %+v", vols)
	}
	for _, r := range views.Registry()["vms"].Rows(c) {
		want := table.Normal
		if strings.HasPrefix(r.Cells[0], "off") {
			want = table.Muted
		}
		if r.Tone != want {
			t.Errorf("VM %q: tone %d, want %d", r.Cells[0], r.Tone, want)
		}
	}
	if hs := views.Registry()["hosts"].Rows(c); len(hs) != 1 || hs[0].Tone != table.Warn {
		t.Errorf("a connected host with a read error: %+v", hs)
	}
}

// Sizes sort as numbers, whatever their number of digits.
func TestSortBytesOrdersAsSizes(t *testing.T) {
	sizes := []uint64{0, 1, 9, 10, 255, 256, 1 << 20, 1<<20 + 1, 1 << 40, ^uint64(0)}
	for i := 1; i < len(sizes); i++ {
		if a, b := kind.SortBytes(sizes[i-1]), kind.SortBytes(sizes[i]); a >= b {
			t.Errorf("SortBytes(%d) >= SortBytes(%d)", sizes[i-1], sizes[i])
		}
	}
}
