package table

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"stowage/themes"
	"stowage/ui/keys"
	"stowage/ui/keys/keytest"
)

func rows(n int) []Row {
	out := make([]Row, n)
	for i := range out {
		name := fmt.Sprintf("vol-%06d.qcow2", i)
		out[i] = Row{Key: name, Cells: []string{name, "stowage-lab-dir", fmt.Sprintf("%d MiB", i%977), "qcow2", "-"},
			Sort: []string{"", "", fmt.Sprintf("%020d", i%977)}}
	}
	return out
}

func newTable(n int) Model {
	pal, _ := themes.Lookup("dark")
	m := New([]Column{{Title: "NAME", Width: 20, Flex: true}, {Title: "POOL", Width: 16}, {Title: "SIZE", Width: 10, Right: true},
		{Title: "FORMAT", Width: 6}, {Title: "ENC", Width: 6}}, keys.Default(), themes.Build(pal, true))
	m.SetSize(120, 40)
	m.SetRows(rows(n))
	return m
}

// press presses key name k (a binding's key, or typed text).
func press(m Model, k string) Model {
	m, _ = m.Update(keytest.Key(k))
	return m
}

func TestNavigationAndSelectionSurvivesRefresh(t *testing.T) {
	m := newTable(100)
	km := keys.Default()
	for i := 0; i < 50; i++ {
		m = press(m, km.Down.Keys()[1])
	}
	if k, _ := m.SelectedKey(); k != "vol-000050.qcow2" {
		t.Fatalf("selected %q", k)
	}
	off := m.Offset()
	if off == 0 {
		t.Fatal("no scrolling after 50 rows down in a 38-row body")
	}
	// A refresh with a new row before the selection keeps the selection
	// and the scroll position.
	rs := rows(100)
	rs = append(rs, Row{Key: "aaa", Cells: []string{"aaa"}})
	m.SetRows(rs)
	if k, _ := m.SelectedKey(); k != "vol-000050.qcow2" {
		t.Errorf("after refresh selected %q", k)
	}
	if m.Offset() < off {
		t.Errorf("offset %d → %d", off, m.Offset())
	}
}

func TestFuzzyFilterAndSort(t *testing.T) {
	m := newTable(1000)
	km := keys.Default()
	m = press(m, km.Filter.Keys()[0])
	if !m.Editing() {
		t.Fatal("filter key did not open the filter line")
	}
	for _, r := range "v999q" {
		m = press(m, string(r))
	}
	want := 0
	for _, r := range rows(1000) {
		// subsequence v…9…9…9…q, by hand
		i, pat := 0, "v999q"
		for _, c := range strings.ToLower(strings.Join(r.Cells, " ")) {
			if i < len(pat) && byte(c) == pat[i] {
				i++
			}
		}
		if i == len(pat) {
			want++
		}
	}
	if m.Len() != want || want == 0 || want == 1000 {
		t.Fatalf("filter %q matches %d rows, want %d", m.Filter(), m.Len(), want)
	}
	m, _ = m.Update(keytest.Press(km.FilterLine.Keep))
	if m.Editing() || m.Filter() != "v999q" {
		t.Errorf("enter: editing %v filter %q", m.Editing(), m.Filter())
	}
	m.SetFilter("")
	m = press(m, km.Sort.Keys()[0]) // POOL
	m = press(m, km.Sort.Keys()[0]) // SIZE (numeric sort keys)
	m = press(m, km.SortDesc.Keys()[0])
	if c, d := m.SortState(); c != 2 || !d {
		t.Fatalf("sort state %d %v", c, d)
	}
	if k, _ := m.SelectedKey(); !strings.HasPrefix(k, "vol-000976") {
		t.Errorf("largest first: %q", k)
	}
	if !strings.Contains(m.View(), "SIZE↓") {
		t.Error("sort arrow missing from header")
	}
}

func TestMouse(t *testing.T) {
	m := newTable(100)
	m, _ = m.Update(tea.MouseClickMsg{Button: tea.MouseLeft, Y: 5})
	if m.Cursor() != 4 {
		t.Errorf("click on line 5 → cursor %d", m.Cursor())
	}
	m, _ = m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	if m.Cursor() != 7 {
		t.Errorf("wheel → cursor %d", m.Cursor())
	}
}

func BenchmarkRender10000Rows(b *testing.B) {
	m := newTable(10000)
	m.SetFilter("")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = m.View()
	}
}

func BenchmarkFilter100000Rows(b *testing.B) {
	m := newTable(100000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.SetFilter("v9q2")
		m.SetFilter("")
	}
}

// The filter line's keys and its hint are the keymap's.
func TestFilterLineKeysFollowTheKeymap(t *testing.T) {
	km := keys.Default()
	if err := km.Remap(map[string][]string{"filter.clear": {"ctrl+g"}}); err != nil {
		t.Fatal(err)
	}
	pal, _ := themes.Lookup("dark")
	m := New([]Column{{Title: "NAME", Width: 20}}, km, themes.Build(pal, true))
	m.SetSize(60, 10)
	m.SetRows(rows(10))
	m = press(m, km.Filter.Keys()[0])
	m = press(m, "v")
	if v := m.View(); !strings.Contains(v, "ctrl+g clear") {
		t.Fatalf("the filter line does not name the remapped key:\n%s", v)
	}
	m = press(m, km.FilterLine.Clear.Keys()[0])
	if m.Editing() || m.Filter() != "" {
		t.Errorf("the remapped clear key: editing %v, filter %q", m.Editing(), m.Filter())
	}
}
