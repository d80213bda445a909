package themes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuiltinPalettes(t *testing.T) {
	names := Names()
	if strings.Join(names, ",") != "dark,high-contrast,light" {
		t.Fatalf("built-in themes %v", names)
	}
	for _, n := range names {
		p, err := Lookup(n)
		if err != nil || p.Name != n || p.Text == "" || p.HeaderB == "" {
			t.Errorf("%s: %+v %v", n, p, err)
		}
	}
	if _, err := Lookup("solarized"); err == nil || !strings.Contains(err.Error(), "dark, high-contrast, light") {
		t.Errorf("unknown theme: %v", err)
	}
}

func TestUserThemes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// An override of a built-in theme keeps the roles it does not set.
	write("light", "accent: \"#ff00ff\"\n")
	light, _ := Lookup("light")
	p, err := Load("light", dir)
	if err != nil || p.Accent != "#ff00ff" || p.Text != light.Text {
		t.Errorf("light override: %+v %v", p, err)
	}
	// A new theme starts from dark; ANSI numbers are colours too.
	write("mine", "bad: \"196\"\n")
	dark, _ := Lookup("dark")
	if p, err := Load("mine", dir); err != nil || p.Name != "mine" || p.Bad != "196" || p.Good != dark.Good {
		t.Errorf("new theme: %+v %v", p, err)
	}
	// Mistakes are named, with the file.
	write("typo", "acent: \"#ffffff\"\n")
	if _, err := Load("typo", dir); err == nil || !strings.Contains(err.Error(), "typo.yaml") || !strings.Contains(err.Error(), "acent") {
		t.Errorf("unknown role: %v", err)
	}
	write("notcolour", "good: green\n")
	if _, err := Load("notcolour", dir); err == nil || !strings.Contains(err.Error(), "good") {
		t.Errorf("bad colour: %v", err)
	}
	if _, err := Load("../etc/passwd", dir); err == nil {
		t.Error("a path as theme name was accepted")
	}
	if _, err := Load("absent", dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("absent theme: %v", err)
	}
}
