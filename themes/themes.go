// Package themes holds stowage's colour palettes (data) and the Styles
// built from a palette once at start-up. It imports lipgloss only; never
// libvirtx, ceph or iscsi.
package themes

import (
	"fmt"
	"image/color"
	"sort"

	"charm.land/lipgloss/v2"
)

// Palette is a theme's colours, by role.
type Palette struct {
	Name    string
	Text    string
	Muted   string
	Accent  string
	Good    string
	Warn    string
	Bad     string
	Border  string
	HeaderF string
	HeaderB string
}

var palettes = map[string]Palette{
	"dark": {Name: "dark", Text: "#d0d0d0", Muted: "#808080", Accent: "#5fafff", Good: "#5fd75f",
		Warn: "#ffd75f", Bad: "#ff5f5f", Border: "#444444", HeaderF: "#000000", HeaderB: "#5fafff"},
	"light": {Name: "light", Text: "#202020", Muted: "#707070", Accent: "#005fd7", Good: "#008700",
		Warn: "#af5f00", Bad: "#d70000", Border: "#bcbcbc", HeaderF: "#ffffff", HeaderB: "#005fd7"},
	"high-contrast": {Name: "high-contrast", Text: "#ffffff", Muted: "#ffffff", Accent: "#ffff00", Good: "#00ff00",
		Warn: "#ffff00", Bad: "#ff0000", Border: "#ffffff", HeaderF: "#000000", HeaderB: "#ffffff"},
}

// Names lists the built-in themes.
func Names() []string {
	var out []string
	for n := range palettes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns a built-in palette by name.
func Lookup(name string) (Palette, error) {
	p, ok := palettes[name]
	if !ok {
		return Palette{}, fmt.Errorf("unknown theme %q (themes: %v)", name, Names())
	}
	return p, nil
}

// Styles are the lipgloss styles every screen draws with.
type Styles struct {
	Title, Text, Muted, Header, Selected, Good, Warn, Bad, Border lipgloss.Style
}

// Build makes Styles from a palette. noColor (NO_COLOR set) drops every
// colour and keeps only bold/reverse, so the screen stays readable.
func Build(p Palette, noColor bool) Styles {
	c := func(hex string) color.Color {
		if noColor {
			return lipgloss.NoColor{}
		}
		return lipgloss.Color(hex)
	}
	return Styles{
		Title:    lipgloss.NewStyle().Bold(true).Foreground(c(p.Accent)),
		Text:     lipgloss.NewStyle().Foreground(c(p.Text)),
		Muted:    lipgloss.NewStyle().Foreground(c(p.Muted)),
		Header:   lipgloss.NewStyle().Bold(true).Foreground(c(p.HeaderF)).Background(c(p.HeaderB)),
		Selected: lipgloss.NewStyle().Reverse(true),
		Good:     lipgloss.NewStyle().Foreground(c(p.Good)),
		Warn:     lipgloss.NewStyle().Foreground(c(p.Warn)),
		Bad:      lipgloss.NewStyle().Bold(true).Foreground(c(p.Bad)),
		Border:   lipgloss.NewStyle().Foreground(c(p.Border)),
	}
}
