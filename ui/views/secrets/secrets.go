// Package secrets is the secrets view: usage, private/ephemeral, what is
// known of the value (never the value) and orphans: a volume secret whose
// volume is gone, and an encrypted volume whose secret is gone. The words
// come from render. It imports render and ui/views/kind; never libvirtx.
package secrets

import (
	"strings"

	"stowage/render"
	"stowage/ui/data"
	"stowage/ui/table"
	"stowage/ui/views/kind"
)

// Kind is the secrets view.
type Kind struct{}

// Name is the palette command.
func (Kind) Name() string { return "secrets" }

// Title names the screen.
func (Kind) Title(kind.Ctx) string { return render.SecretsTitle }

// Columns are the secrets table's columns.
func (Kind) Columns(c kind.Ctx) []table.Column {
	return kind.Columns(c, render.SecretColumns(), []table.Column{{Width: 36}, {Width: 24, Flex: true}, {Width: 7},
		{Width: 9}, {Width: 8}, {Width: 20, Flex: true}})
}

// Rows lists secrets, then encrypted volumes whose secret is missing.
func (Kind) Rows(c kind.Ctx) []table.Row {
	var out []table.Row
	for _, i := range c.Hosts() {
		h := c.Store.Hosts[i].Info
		for _, s := range h.Secrets {
			out = append(out, kind.Row(c, i, s.UUID, render.SecretRow(s), nil))
		}
		for _, m := range h.MissingSecrets() {
			out = append(out, kind.Row(c, i, "missing:"+m, render.MissingSecretRow(m), nil))
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

// Empty says there are no secrets, or that the host cannot have any.
func (Kind) Empty(c kind.Ctx) string {
	for _, i := range c.Hosts() {
		if h := c.Store.Hosts[i]; h.Loaded && !h.Info.SecretsKnown {
			return render.SecretsEmpty(h.URI)
		}
	}
	return render.SecretsEmpty("")
}
