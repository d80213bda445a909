package arch

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "stowage"

// frontEnds are the packages allowed to draw: everything under ui/, the
// palettes, and the binaries' wiring. Every other package is a backend.
var frontEnds = []string{"stowage", "stowage/ui", "stowage/themes", "stowage/cli"}

// drawing is what a backend must never import.
var drawing = []string{
	"stowage/ui", "stowage/themes",
	"charm.land/lipgloss", "charm.land/bubbletea", "charm.land/bubbles", "charm.land/huh",
	"github.com/charmbracelet/lipgloss", "github.com/charmbracelet/bubbletea",
}

// modelIO is the standard library's I/O: model is pure.
var modelIO = []string{"os", "os/exec", "net", "net/http", "io/fs", "syscall", "log", "log/slog"}

type file struct {
	pkg, path string
	test      bool
	imports   []string
}

func under(p, prefix string) bool { return p == prefix || strings.HasPrefix(p, prefix+"/") }

func anyUnder(p string, prefixes []string) bool {
	for _, x := range prefixes {
		if under(p, x) {
			return true
		}
	}
	return false
}

// violations applies the rules to parsed files; it is separate from the
// walk so the rules themselves are tested against files that break them.
func violations(files []file) []string {
	var out []string
	for _, f := range files {
		frontEnd := f.pkg == module || anyUnder(f.pkg, frontEnds[1:])
		for _, imp := range f.imports {
			switch {
			case !frontEnd && anyUnder(imp, drawing):
				out = append(out, f.path+": backend "+f.pkg+" imports "+imp+" (only ui, themes and the binaries' wiring draw)")
			case under(f.pkg, "stowage/ui") && !f.test && under(imp, "stowage/libvirtx"):
				out = append(out, f.path+": ui imports "+imp+" (ui speaks model; libvirtx is reached through a backend interface)")
			case f.pkg == "stowage/model" && !f.test && (strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") || under(imp, module)):
				out = append(out, f.path+": model imports "+imp+" (model depends on the standard library only)")
			case f.pkg == "stowage/model" && !f.test && anyUnder(imp, modelIO):
				out = append(out, f.path+": model imports "+imp+" (model does no I/O)")
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestImportRules(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	var files []file
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := module
		if rel != "." {
			pkg = module + "/" + filepath.ToSlash(rel)
		}
		ff := file{pkg: pkg, path: strings.TrimPrefix(path, root+string(os.PathSeparator)), test: strings.HasSuffix(path, "_test.go")}
		for _, s := range f.Imports {
			p, _ := strconv.Unquote(s.Path.Value)
			ff.imports = append(ff.imports, p)
		}
		files = append(files, ff)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("walked only %d Go files under %s: the check would prove nothing", len(files), root)
	}
	for _, v := range violations(files) {
		t.Error(v)
	}
}

// Each rule catches a file that breaks it, and lets through what is
// allowed: a rule that cannot fail proves nothing.
func TestImportRulesCatchViolations(t *testing.T) {
	files := []file{
		{pkg: "stowage/drive", path: "drive/x.go", imports: []string{"charm.land/lipgloss/v2"}},
		{pkg: "stowage/libvirtx", path: "libvirtx/x.go", imports: []string{"stowage/ui/common"}},
		{pkg: "stowage/iscsi", path: "iscsi/x_test.go", test: true, imports: []string{"charm.land/bubbletea/v2"}},
		{pkg: "stowage/ui/data", path: "ui/data/x.go", imports: []string{"stowage/libvirtx"}},
		{pkg: "stowage/model", path: "model/x.go", imports: []string{"os"}},
		{pkg: "stowage/model", path: "model/y.go", imports: []string{"stowage/plan"}},
		// allowed:
		{pkg: "stowage/ui/data", path: "ui/data/x_lab_test.go", test: true, imports: []string{"stowage/libvirtx"}},
		{pkg: "stowage/ui/app", path: "ui/app/x.go", imports: []string{"charm.land/bubbletea/v2", "stowage/model"}},
		{pkg: "stowage", path: "main.go", imports: []string{"charm.land/bubbletea/v2", "stowage/libvirtx"}},
		{pkg: "stowage/model", path: "model/z.go", imports: []string{"fmt", "strings"}},
	}
	got := violations(files)
	want := []string{"drive/x.go", "iscsi/x_test.go", "libvirtx/x.go", "model/x.go", "model/y.go", "ui/data/x.go"}
	if len(got) != len(want) {
		t.Fatalf("got %d violations, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w+":") {
			t.Errorf("violation %d = %q, want one for %s", i, got[i], w)
		}
	}
}
