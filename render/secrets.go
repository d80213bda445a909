package render

import (
	"strings"

	"stowage/model"
)

// SecretsTitle names the secrets screen.
const SecretsTitle = "secrets"

// SecretColumns are the console's secrets table.
func SecretColumns() []string {
	return []string{"UUID", "USAGE", "PRIVATE", "EPHEMERAL", "VALUE", "ORPHAN"}
}

// SecretRow is a secret's row in the console: what is known of its value
// (never the value) and, for an orphan, why nothing uses it.
func SecretRow(s model.SecretInfo) Row {
	mark := Plain
	if s.Orphan != "" {
		mark = Attention
	}
	return Row{Mark: mark, Cells: secretCells(s)}
}

// MissingSecretRow is the row of an encrypted volume whose secret is gone
// (one of model.HostInfo.MissingSecrets).
func MissingSecretRow(m string) Row {
	return Row{Mark: Broken, Cells: missingSecretCells(m)}
}

// SecretsEmpty says there are no secrets, or (noAPI, a host's URI) that
// the host cannot have any.
func SecretsEmpty(noAPI string) string {
	if noAPI != "" {
		return model.SafeText("No secrets: " + noAPI + " has no secret API (libvirt's test driver implements none).")
	}
	return "No secrets defined."
}

func secretCells(s model.SecretInfo) []string {
	return cells(s.UUID, strings.TrimSpace(s.UsageType+" "+s.UsageID), yesNo(s.Private), yesNo(s.Ephemeral),
		string(s.Value), dash(s.Orphan))
}

func missingSecretCells(m string) []string {
	return cells("(missing)", "volume "+m, "-", "-", "-", "encrypted volume's secret is gone")
}

// inventorySecrets is the CLI's secrets table: the console's columns, the
// first titled SECRET.
func inventorySecrets(h model.HostInfo) Table {
	t := Table{Columns: []string{"SECRET", "USAGE", "PRIVATE", "EPHEMERAL", "VALUE", "ORPHAN"}}
	for _, s := range h.Secrets {
		t.Rows = append(t.Rows, secretCells(s))
	}
	for _, m := range h.MissingSecrets() {
		t.Rows = append(t.Rows, missingSecretCells(m))
	}
	return t
}
