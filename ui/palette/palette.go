// Package palette is the `:` command line: it completes command names
// (Tab) and host names after `host` and `diagnose`, and returns the chosen command to the
// root, which dispatches it. Its keys are the keymap's PaletteLine
// bindings. It imports model (for SafeText), themes and ui/keys only.
package palette

import (
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"stowage/model"
	"stowage/themes"
	"stowage/ui/keys"
)

// Model is the palette.
type Model struct {
	commands []string
	hosts    []string
	input    string
	keys     keys.PaletteLineKeys
	st       themes.Styles
}

// RunMsg is the command the admin entered: Cmd and its argument.
type RunMsg struct{ Cmd, Arg string }

// CloseMsg closes the palette without a command.
type CloseMsg struct{}

// New builds a palette for commands (pools, volumes…) and host names,
// with km's PaletteLine keys.
func New(commands, hosts []string, km keys.Map, st themes.Styles) Model {
	cs := append([]string{"host", "diagnose", "quit", "help"}, commands...)
	sort.Strings(cs)
	return Model{commands: cs, hosts: hosts, keys: km.PaletteLine, st: st}
}

// Input is the typed text.
func (m Model) Input() string { return m.input }

// Completions are the candidates for what is typed.
func (m Model) Completions() []string {
	cmd, arg, hasArg := strings.Cut(m.input, " ")
	var out []string
	if hasArg && takesHost(cmd) {
		for _, h := range m.hosts {
			if strings.HasPrefix(h, arg) {
				out = append(out, cmd+" "+h)
			}
		}
		return out
	}
	if hasArg {
		return nil
	}
	for _, c := range m.commands {
		if strings.HasPrefix(c, cmd) {
			out = append(out, c)
		}
	}
	return out
}

// Update edits the line; Tab completes, Enter runs, Esc closes (by
// default: the keys are the keymap's).
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return m, nil
	}
	switch {
	case key.Matches(k, m.keys.Close):
		return m, func() tea.Msg { return CloseMsg{} }
	case key.Matches(k, m.keys.Complete):
		if cs := m.Completions(); len(cs) > 0 {
			m.input = commonPrefix(cs)
			if len(cs) == 1 && !strings.HasSuffix(m.input, " ") && m.input == "host" {
				m.input += " "
			}
		}
	case key.Matches(k, m.keys.Run):
		in := strings.TrimSpace(m.input)
		if cs := m.Completions(); len(cs) == 1 {
			in = cs[0]
		}
		cmd, arg, _ := strings.Cut(in, " ")
		return m, func() tea.Msg { return RunMsg{Cmd: cmd, Arg: strings.TrimSpace(arg)} }
	case key.Matches(k, m.keys.Erase):
		if r := []rune(m.input); len(r) > 0 {
			m.input = string(r[:len(r)-1])
		}
	default:
		m.input += k.Text
	}
	return m, nil
}

// takesHost: the commands whose argument is a host's URI.
func takesHost(cmd string) bool { return cmd == "host" || cmd == "diagnose" }

func commonPrefix(ss []string) string {
	p := ss[0]
	for _, s := range ss[1:] {
		for !strings.HasPrefix(s, p) {
			p = p[:len(p)-1]
		}
	}
	return p
}

// View is one line: the input and the completions, escaped (a host name
// or typed text with control characters must not drive the terminal).
func (m Model) View() string {
	return m.st.Title.Render(":"+model.SafeText(m.input)+"█") + "  " +
		m.st.Muted.Render(model.SafeText(strings.Join(m.Completions(), "  ")))
}
