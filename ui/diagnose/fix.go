package diagnose

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/keys"
)

// fix is the typed confirmation of a finding's fix: the admin types the
// fix's target (a pool's name, a secret's UUID) and, for set-secret, the
// secret's value into a masked field (held in a []byte, cleared once
// sent, never shown). Then a Cmd calls the backend's ApplyFix.
type fix struct {
	d      Deps
	host   int
	f      model.Finding
	a      model.FixAction
	target textinput.Model
	// value is set-secret's value; nil for the other fixes.
	value *common.SecretField
	// onValue: the focus is on the value field.
	onValue bool
	busy    bool
	err     error
	req     common.Requests
	keys    keys.ConfirmKeys
}

// fixedMsg is ApplyFix's answer, routed to the confirmation that asked.
type fixedMsg struct {
	common.Route
	err error
}

func newFix(d Deps, host int, f model.Finding) *fix {
	a := *f.Action
	a.Detail = maps.Clone(a.Detail)
	c := &fix{d: d, host: host, f: f, a: a, target: textinput.New(), keys: d.Keys.Confirm}
	c.target.Placeholder = model.SafeText(a.Target)
	c.target.Focus()
	if a.Kind == model.FixSetSecret {
		c.value = &common.SecretField{Placeholder: "(the drive's passphrase; not shown)", AllowSpace: true}
	}
	c.keys.Mode = keys.Enable(keys.WithHelp(c.keys.Mode, "next field"), c.value != nil)
	return c
}

// Title names the screen.
func (c *fix) Title() string { return "fix " + c.a.Kind }

// Init starts the cursor blinking.
func (c *fix) Init() tea.Cmd { return textinput.Blink }

// Owns routes ApplyFix's answer here (common.Owner).
func (c *fix) Owns(r common.Route) (mine, current bool) { return c.req.Owns(r) }

// Capturing: the fields take every key.
func (c *fix) Capturing() bool { return true }

// Confirms marks the screen as a confirmation (keys.Confirmer).
func (c *fix) Confirms() {}

func (c *fix) close() tea.Cmd {
	if c.value != nil {
		c.value.Wipe()
	}
	return common.Pop(nil)
}

// Update edits the fields, confirms, and takes the fix's answer.
func (c *fix) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	switch msg := msg.(type) {
	case fixedMsg:
		if !c.req.Current(msg.Route) {
			return c, nil
		}
		c.busy, c.err = false, msg.err
		if msg.err == nil {
			return c, common.Pop(FixedMsg{Host: c.host, Action: c.a})
		}
		return c, nil
	case tea.PasteMsg:
		if !c.busy && c.onValue {
			c.value.Add(msg.Content)
			return c, nil
		}
	case tea.KeyPressMsg:
		if c.busy {
			return c, nil
		}
		switch {
		case key.Matches(msg, c.keys.Cancel):
			return c, c.close()
		case key.Matches(msg, c.keys.Mode):
			c.onValue = !c.onValue
			if c.onValue {
				c.target.Blur()
				c.value.Focus()
				return c, nil
			}
			c.value.Blur()
			return c, c.target.Focus()
		case key.Matches(msg, c.keys.Confirm):
			return c, c.confirm()
		}
		c.err = nil
		if c.onValue {
			c.value.Update(msg)
			return c, nil
		}
	}
	if c.onValue {
		return c, nil
	}
	var cmd tea.Cmd
	c.target, cmd = c.target.Update(msg)
	return c, cmd
}

// confirm checks the typed target (and value), then applies the fix.
func (c *fix) confirm() tea.Cmd {
	if c.target.Value() != c.a.Target {
		c.err = fmt.Errorf("type %q exactly to confirm", model.SafeText(c.a.Target))
		return nil
	}
	var value []byte
	if c.value != nil {
		if c.value.Empty() {
			c.err = errors.New("type the secret's value (the drive's passphrase) first")
			return nil
		}
		value = c.value.Take()
	}
	c.busy, c.err = true, nil
	b, host, timeout, a := c.d.Store.Backend(), c.host, c.d.Store.Timeout(), c.a
	r := c.req.New()
	return func() tea.Msg {
		// ApplyFix reads the host again on its own connection, then acts:
		// each call is bounded by the timeout, and this bounds them all.
		ctx, cancel := context.WithTimeout(context.Background(), 10*timeout)
		defer cancel()
		err := b.ApplyFix(ctx, host, a, value)
		clear(value)
		return fixedMsg{Route: r, err: err}
	}
}

// explain says what the fix does, in the words of its kind.
func (c *fix) explain() string {
	t := model.SafeText(c.a.Target)
	switch c.a.Kind {
	case model.FixStartPool:
		return fmt.Sprintf("stowage reads the host again and starts pool %s, only while it is still inactive and still the pool diagnosed (same UUID).", t)
	case model.FixAutostartPool:
		return fmt.Sprintf("stowage reads the host again and marks pool %s autostart, only while it still is not and is still the pool diagnosed (same UUID).", t)
	case model.FixSetSecret:
		return fmt.Sprintf("stowage reads the host again and, only while the secret is still missing, defines secret %s (private, usage %s %s) with the value you type: the drive's passphrase. It is never shown, logged or kept.",
			t, model.SafeText(c.a.Detail["usage"]), model.SafeText(c.a.Detail["usage_id"]))
	}
	return ""
}

// View draws the question, the fields and what went wrong.
func (c *fix) View() string {
	st := c.d.Styles
	var b strings.Builder
	b.WriteString(st.Title.Render("Fix: "+c.a.Kind+" "+model.SafeText(c.a.Target)) + "\n\n")
	b.WriteString(st.Text.Render(model.SafeText(c.f.Message)) + "\n\n")
	b.WriteString(st.Text.Render(c.explain()) + "\n")
	b.WriteString(st.Muted.Render("The fix, or its refusal, is written to the audit log.") + "\n\n")
	b.WriteString(st.Text.Render("Type the target to confirm: ") + c.target.View() + "\n")
	if c.value != nil {
		label := st.Muted
		if c.onValue {
			label = st.Title
		}
		b.WriteString(label.Render("The secret's value:          ") + c.value.View() + "\n")
	}
	switch {
	case c.busy:
		b.WriteString("\n" + st.Muted.Render("applying the fix…"))
	case c.err != nil:
		b.WriteString("\n" + st.Bad.Render(model.SafeLines(c.err.Error())))
		if c.value != nil && c.value.Empty() {
			b.WriteString("\n" + st.Muted.Render("the value was cleared: type it again to retry"))
		}
	}
	b.WriteString("\n\n" + st.Muted.Render(keys.Hint(c.keys.Confirm, c.keys.Mode, c.keys.Cancel)))
	return b.String()
}

// SetSize is a no-op: the screen has a fixed layout.
func (c *fix) SetSize(int, int) {}

// Focus focuses the field that had the focus.
func (c *fix) Focus() {
	if c.onValue {
		c.value.Focus()
		return
	}
	c.target.Focus()
}

// Blur blurs both fields.
func (c *fix) Blur() {
	c.target.Blur()
	if c.value != nil {
		c.value.Blur()
	}
}

// ShortHelp lists the enabled keys (none while the fix runs).
func (c *fix) ShortHelp() []key.Binding {
	var out []key.Binding
	for _, k := range []key.Binding{c.keys.Confirm, c.keys.Mode, c.keys.Cancel} {
		out = append(out, keys.Enable(k, k.Enabled() && !c.busy))
	}
	return out
}

// FullHelp is ShortHelp in one column.
func (c *fix) FullHelp() [][]key.Binding { return [][]key.Binding{c.ShortHelp()} }

var (
	_ common.Capturing = (*fix)(nil)
	_ keys.Confirmer   = (*fix)(nil)
	_ common.Owner     = (*fix)(nil)
)
