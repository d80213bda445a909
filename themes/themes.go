// Package themes holds stowage's colour palettes as data (embedded YAML in
// palettes/, overridable by the admin's own files) and the Styles built
// from a palette once at start-up. It imports lipgloss and yaml only;
// never libvirtx, ceph or iscsi.
package themes

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"image/color"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"
	"gopkg.in/yaml.v3"
)

// Palette is a theme's colours, by role: "#rrggbb" or an ANSI colour
// number ("0"-"255").
type Palette struct {
	Name    string `yaml:"-"`
	Text    string `yaml:"text"`
	Muted   string `yaml:"muted"`
	Accent  string `yaml:"accent"`
	Good    string `yaml:"good"`
	Warn    string `yaml:"warn"`
	Bad     string `yaml:"bad"`
	Border  string `yaml:"border"`
	HeaderF string `yaml:"header_fg"`
	HeaderB string `yaml:"header_bg"`
}

//go:embed palettes/*.yaml
var builtin embed.FS

// Names lists the built-in themes.
func Names() []string {
	ents, _ := builtin.ReadDir("palettes")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// Lookup returns a built-in palette by name.
func Lookup(name string) (Palette, error) { return Load(name, "") }

// Load returns the palette called name: userDir/NAME.yaml when it exists
// (the admin's own theme, or an override of a built-in one), laid over
// the built-in theme of that name (dark for a new name), so a user file
// may set only the roles it changes. userDir may be empty. Nothing is
// ever written.
func Load(name, userDir string) (Palette, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return Palette{}, fmt.Errorf("theme name %q: use a plain name such as dark", name)
	}
	base := name
	if _, err := fs.Stat(builtin, "palettes/"+name+".yaml"); err != nil {
		base = ""
	}
	var user []byte
	userFile := ""
	if userDir != "" {
		userFile = filepath.Join(userDir, name+".yaml")
		b, err := os.ReadFile(userFile)
		switch {
		case err == nil:
			user = b
		case !errors.Is(err, fs.ErrNotExist):
			return Palette{}, fmt.Errorf("theme %q: %w", name, err)
		}
	}
	if base == "" && user == nil {
		known := Names()
		if userDir != "" {
			known = append(known, "or your own in "+userDir)
		}
		return Palette{}, fmt.Errorf("unknown theme %q (themes: %s)", name, strings.Join(known, ", "))
	}
	if base == "" {
		base = "dark"
	}
	b, err := builtin.ReadFile("palettes/" + base + ".yaml")
	if err != nil {
		return Palette{}, err
	}
	var p Palette
	if err := decode(b, &p); err != nil {
		return Palette{}, fmt.Errorf("built-in theme %s: %w", base, err)
	}
	if user != nil {
		if err := decode(user, &p); err != nil {
			return Palette{}, fmt.Errorf("theme file %s: %w", userFile, err)
		}
	}
	p.Name = name
	return p, p.validate()
}

func decode(b []byte, p *Palette) error {
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(p); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

func (p Palette) validate() error {
	roles := map[string]string{"text": p.Text, "muted": p.Muted, "accent": p.Accent, "good": p.Good, "warn": p.Warn,
		"bad": p.Bad, "border": p.Border, "header_fg": p.HeaderF, "header_bg": p.HeaderB}
	for role, c := range roles {
		if !validColour(c) {
			return fmt.Errorf("theme %s: %s: %q is not a colour (use \"#rrggbb\" or an ANSI number 0-255)", p.Name, role, c)
		}
	}
	return nil
}

func validColour(c string) bool {
	if len(c) == 7 && c[0] == '#' {
		_, err := strconv.ParseUint(c[1:], 16, 32)
		return err == nil
	}
	n, err := strconv.Atoi(c)
	return err == nil && n >= 0 && n <= 255
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
