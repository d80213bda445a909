// Package secrets is the secrets view: usage, private/ephemeral, what is
// known of the value (never the value) and orphans: a volume secret whose
// volume is gone, and an encrypted volume whose secret is gone. It imports
// ui/views/kind and libvirtx types.
package secrets

import (
	"strings"

	"stowage/ui/data"
	"stowage/ui/table"
	"stowage/ui/views/kind"
)

// Kind is the secrets view.
type Kind struct{}

// Name is the palette command.
func (Kind) Name() string { return "secrets" }

// Title names the screen.
func (Kind) Title(kind.Ctx) string { return "secrets" }

// Columns are the secrets table's columns.
func (Kind) Columns(c kind.Ctx) []table.Column {
	cols := []table.Column{{Title: "UUID", Width: 36}, {Title: "USAGE", Width: 24, Flex: true}, {Title: "PRIVATE", Width: 7},
		{Title: "EPHEMERAL", Width: 9}, {Title: "VALUE", Width: 8}, {Title: "ORPHAN", Width: 20, Flex: true}}
	if c.MultiHost() {
		cols = append([]table.Column{{Title: "HOST", Width: 16}}, cols...)
	}
	return cols
}

// Rows lists secrets, then encrypted volumes whose secret is missing.
func (Kind) Rows(c kind.Ctx) []table.Row {
	var out []table.Row
	for _, i := range c.Hosts() {
		h := c.Store.Hosts[i].Info
		add := func(id string, tone table.Tone, cells []string) {
			if c.MultiHost() {
				cells = append([]string{c.HostName(i)}, cells...)
			}
			out = append(out, table.Row{Key: kind.RowKey(i, id), Cells: cells, Tone: tone})
		}
		for _, s := range h.Secrets {
			tone := table.Normal
			if s.Orphan != "" {
				tone = table.Warn
			}
			add(s.UUID, tone, []string{s.UUID, strings.TrimSpace(s.UsageType + " " + s.UsageID), kind.YesNo(s.Private),
				kind.YesNo(s.Ephemeral), string(s.Value), kind.Dash(s.Orphan)})
		}
		for _, m := range h.MissingSecrets() {
			add("missing:"+m, table.Bad, []string{"(missing)", "volume " + m, "-", "-", "-", "encrypted volume's secret is gone"})
		}
	}
	return out
}

// Drill: secrets are leaves.
func (Kind) Drill(kind.Ctx, string) (string, kind.Scope, bool) { return "", kind.Scope{}, false }

// Describe shows the secret's XML (never its value).
func (Kind) Describe(c kind.Ctx, k string) (int, data.Object, bool) {
	if k == "" {
		return 0, data.Object{}, false
	}
	h, id := kind.SplitKey(k)
	if strings.HasPrefix(id, "missing:") {
		return 0, data.Object{}, false
	}
	return h, data.Object{Kind: "secret", Name: id}, true
}

// Actions: none; secrets are managed by the wizards that use them.
func (Kind) Actions(kind.Ctx, string) []kind.Action { return nil }

// Empty says there are no secrets.
func (Kind) Empty(kind.Ctx) string { return "No secrets defined." }
