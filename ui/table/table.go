// Package table is the console's list widget: columns, sortable by any
// column, a fuzzy filter, a cursor and scrolling that survive refreshes
// (rows are matched by key), mouse wheel and clicks. It renders only the
// visible rows, so a frame of 10,000 rows costs what a screenful costs.
// Its keys, the filter line's included, are the keymap's. It imports
// model, themes, ui/keys and bubbletea; no backend.
package table

import (
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"stowage/model"
	"stowage/themes"
	"stowage/ui/keys"
)

// Tone colours a row or a cell.
type Tone int

// Tones, mapped onto the theme's styles.
const (
	Normal Tone = iota
	Muted
	Good
	Warn
	Bad
)

// Column is one column. Width is its minimum; Flex columns share what is
// left of the screen's width.
type Column struct {
	Title string
	Width int
	Flex  bool
	Right bool
}

// Row is one line. Key identifies it across refreshes (selection and
// scroll survive a refresh). Sort, when set, holds per-column sort keys
// (e.g. zero-padded numbers) used instead of the cells.
type Row struct {
	Key   string
	Cells []string
	Sort  []string
	Tone  Tone
	hay   string
}

// Model is a table.
type Model struct {
	cols []Column
	rows []Row
	view []int // indices of rows that pass the filter, in sort order
	// order is every row's index in sort order, made once per SetRows or
	// change of sort (nil until then), so a keystroke in the filter line
	// filters without sorting; viewPat is the filter view was made with.
	order   []int
	viewPat string
	// released is the selected key ReleaseRows kept for SetRows.
	released *string
	cursor   int
	offset   int
	sortCol  int
	desc     bool
	filter   string
	editing  bool
	width    int
	height   int
	focused  bool
	km       keys.Map
	st       themes.Styles
}

// New builds an empty table.
func New(cols []Column, km keys.Map, st themes.Styles) Model {
	return Model{cols: cols, km: km, st: st, sortCol: 0, focused: true}
}

// ReleaseRows lets go of the rows before new ones are made (SetRows
// follows), remembering the selected row's key: 10,000 old rows need not
// stay on the heap while their replacements are built.
func (m *Model) ReleaseRows() {
	if k, ok := m.SelectedKey(); ok {
		m.released = &k
	}
	m.rows, m.view, m.order = nil, nil, nil
}

// SetRows replaces the rows, keeping the selected row (by key) and the
// scroll position.
func (m *Model) SetRows(rows []Row) {
	sel, hadSel := m.SelectedKey()
	if m.released != nil {
		sel, hadSel = *m.released, true
		m.released = nil
	}
	m.rows = rows
	m.order = nil
	m.rebuild()
	if hadSel {
		for i, ri := range m.view {
			if m.rows[ri].Key == sel {
				m.cursor = i
				break
			}
		}
	}
	m.clamp()
}

// Rows returns every row (unfiltered).
func (m Model) Rows() []Row { return m.rows }

// Len is the number of rows that pass the filter.
func (m Model) Len() int { return len(m.view) }

// SelectedKey is the key of the row under the cursor.
func (m Model) SelectedKey() (string, bool) {
	if m.cursor < 0 || m.cursor >= len(m.view) {
		return "", false
	}
	return m.rows[m.view[m.cursor]].Key, true
}

// Select moves the cursor to the row with key k, if shown.
func (m *Model) Select(k string) bool {
	for i, ri := range m.view {
		if m.rows[ri].Key == k {
			m.cursor = i
			m.clamp()
			return true
		}
	}
	return false
}

// Cursor and Offset expose the scroll state (tests, benchmarks).
func (m Model) Cursor() int { return m.cursor }

// Offset is the first visible row.
func (m Model) Offset() int { return m.offset }

// Filter is the current filter text.
func (m Model) Filter() string { return m.filter }

// Editing reports whether the filter line takes every key.
func (m Model) Editing() bool { return m.editing }

// SetFilter sets the filter text and re-filters.
func (m *Model) SetFilter(f string) {
	m.filter = f
	m.rebuild()
	m.cursor = 0
	m.clamp()
}

// SortBy sorts by column c (descending when desc).
func (m *Model) SortBy(c int, desc bool) {
	if c >= 0 && c < len(m.cols) {
		m.sortCol, m.desc = c, desc
		m.order = nil
		m.rebuild()
		m.clamp()
	}
}

// SortState is the sort column and direction.
func (m Model) SortState() (int, bool) { return m.sortCol, m.desc }

// SetSize sets the table's box (header and filter line included).
func (m *Model) SetSize(w, h int) { m.width, m.height = w, h; m.clamp() }

// Focus and Blur toggle key handling.
func (m *Model) Focus() { m.focused = true }

// Blur stops key handling.
func (m *Model) Blur() { m.focused = false }

// Match reports whether pattern (lower case) is a fuzzy subsequence of
// hay (lower case): "sldr" matches "stowage-lab-dir".
func Match(pattern, hay string) bool {
	if pattern == "" {
		return true
	}
	pi := 0
	for i := 0; i < len(hay) && pi < len(pattern); i++ {
		if hay[i] == pattern[pi] {
			pi++
		}
	}
	return pi == len(pattern)
}

func (m *Model) rebuild() {
	pat := strings.ToLower(m.filter)
	if m.order == nil {
		m.sortOrder()
		m.viewPat = "\x00" // no view to narrow: filter from the order
	}
	// A pattern that extends the last one (the admin typing on) matches a
	// subset of what the last one matched: narrow the last view instead
	// of searching every row again. The view is a new slice: a copy of
	// the model (Update returns one) may still hold the old.
	from := m.order
	if m.viewPat != "\x00" && strings.HasPrefix(pat, m.viewPat) {
		from = m.view
	}
	view := make([]int, 0, len(from))
	for _, ri := range from {
		r := &m.rows[ri]
		// The text a filter searches is made the first time a filter
		// needs it, and kept with the row until the rows are replaced:
		// a table nobody filters holds no lower-cased copy of its cells.
		if pat != "" && r.hay == "" && len(r.Cells) > 0 {
			r.hay = strings.ToLower(strings.Join(r.Cells, " "))
		}
		if Match(pat, r.hay) {
			view = append(view, ri)
		}
	}
	m.view, m.viewPat = view, pat
}

// sortOrder sorts every row's index by the sort column.
func (m *Model) sortOrder() {
	m.order = make([]int, len(m.rows))
	for i := range m.order {
		m.order[i] = i
	}
	c, desc := m.sortCol, m.desc
	keyOf := func(r *Row) string {
		if c < len(r.Sort) && r.Sort[c] != "" {
			return r.Sort[c]
		}
		if c < len(r.Cells) {
			return r.Cells[c]
		}
		return ""
	}
	sort.SliceStable(m.order, func(a, b int) bool {
		ka, kb := keyOf(&m.rows[m.order[a]]), keyOf(&m.rows[m.order[b]])
		if desc {
			return ka > kb
		}
		return ka < kb
	})
}

// bodyHeight is the number of row lines: minus the column header and the
// filter line.
func (m Model) bodyHeight() int {
	h := m.height - 2
	if h < 1 {
		h = 1
	}
	return h
}

func (m *Model) clamp() {
	if m.cursor >= len(m.view) {
		m.cursor = len(m.view) - 1
	}
	if m.cursor < 0 {
		m.cursor = 0
	}
	bh := m.bodyHeight()
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+bh {
		m.offset = m.cursor - bh + 1
	}
	if max := len(m.view) - bh; m.offset > max {
		m.offset = max
	}
	if m.offset < 0 {
		m.offset = 0
	}
}

// Bindings are the table's keys, enabled from its state.
func (m Model) Bindings() []key.Binding {
	has := len(m.view) > 0
	return []key.Binding{
		keys.Enable(m.km.Up, has), keys.Enable(m.km.Down, has),
		keys.Enable(m.km.PageUp, has), keys.Enable(m.km.PageDown, has),
		keys.Enable(m.km.Top, has), keys.Enable(m.km.Bottom, has),
		m.km.Filter, m.km.Sort, m.km.SortDesc,
	}
}

// Update handles navigation, sorting, the filter line and the mouse. Y of
// mouse messages is relative to the table's top line.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if !m.focused {
		return m, nil
	}
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		if m.editing {
			return m.editFilter(msg), nil
		}
		bh := m.bodyHeight()
		switch {
		case key.Matches(msg, m.km.Up):
			m.cursor--
		case key.Matches(msg, m.km.Down):
			m.cursor++
		case key.Matches(msg, m.km.PageUp):
			m.cursor -= bh
		case key.Matches(msg, m.km.PageDown):
			m.cursor += bh
		case key.Matches(msg, m.km.Top):
			m.cursor = 0
		case key.Matches(msg, m.km.Bottom):
			m.cursor = len(m.view) - 1
		case key.Matches(msg, m.km.Filter):
			m.editing = true
		case key.Matches(msg, m.km.Sort):
			m.sortCol = (m.sortCol + 1) % len(m.cols)
			m.order = nil
			m.rebuild()
		case key.Matches(msg, m.km.SortDesc):
			m.desc = !m.desc
			m.order = nil
			m.rebuild()
		}
		m.clamp()
	case tea.MouseWheelMsg:
		switch msg.Button {
		case tea.MouseWheelUp:
			m.cursor -= 3
		case tea.MouseWheelDown:
			m.cursor += 3
		}
		m.clamp()
	case tea.MouseClickMsg:
		if msg.Button == tea.MouseLeft {
			switch line := msg.Y - 1; {
			case line == -1:
				// A click on the header sorts by that column.
				if c := m.columnAt(msg.X); c >= 0 {
					if c == m.sortCol {
						m.desc = !m.desc
					}
					m.sortCol = c
					m.order = nil
					m.rebuild()
				}
			case line >= 0 && line < m.bodyHeight():
				m.cursor = m.offset + line
			}
			m.clamp()
		}
	}
	return m, nil
}

func (m Model) editFilter(msg tea.KeyPressMsg) Model {
	k := m.km.FilterLine
	switch {
	case key.Matches(msg, k.Keep):
		m.editing = false
	case key.Matches(msg, k.Clear):
		m.editing = false
		m.filter = ""
	case key.Matches(msg, k.Erase):
		if r := []rune(m.filter); len(r) > 0 {
			m.filter = string(r[:len(r)-1])
		}
	default:
		if msg.Text == "" {
			return m
		}
		m.filter += msg.Text
	}
	m.rebuild()
	m.cursor = 0
	m.clamp()
	return m
}

func (m Model) columnAt(x int) int {
	ws := m.widths()
	pos := 0
	for i, w := range ws {
		if x >= pos && x < pos+w+1 {
			return i
		}
		pos += w + 1
	}
	return -1
}

func (m Model) widths() []int {
	ws := make([]int, len(m.cols))
	used, flex := 0, 0
	for i, c := range m.cols {
		ws[i] = c.Width
		used += c.Width + 1
		if c.Flex {
			flex++
		}
	}
	if extra := m.width - used; extra > 0 && flex > 0 {
		for i, c := range m.cols {
			if c.Flex {
				ws[i] += extra / flex
			}
		}
	}
	return ws
}

func fit(s string, w int, right bool) string {
	if ansi.StringWidth(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	pad := w - ansi.StringWidth(s)
	if pad <= 0 {
		return s
	}
	if right {
		return strings.Repeat(" ", pad) + s
	}
	return s + strings.Repeat(" ", pad)
}

func (m Model) line(cells []string, ws []int) string {
	var b strings.Builder
	for i, c := range m.cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		cell := ""
		if i < len(cells) {
			cell = cells[i]
		}
		b.WriteString(fit(model.SafeText(cell), ws[i], c.Right))
	}
	return fit(b.String(), m.width, false)
}

// View renders the header, the visible rows and the filter line.
func (m Model) View() string {
	ws := m.widths()
	titles := make([]string, len(m.cols))
	for i, c := range m.cols {
		titles[i] = c.Title
		if i == m.sortCol {
			if m.desc {
				titles[i] += "↓"
			} else {
				titles[i] += "↑"
			}
		}
	}
	var b strings.Builder
	b.WriteString(m.st.Header.Render(m.line(titles, ws)))
	bh := m.bodyHeight()
	for i := m.offset; i < m.offset+bh; i++ {
		b.WriteByte('\n')
		if i >= len(m.view) {
			continue
		}
		r := &m.rows[m.view[i]]
		l := m.line(r.Cells, ws)
		switch {
		case i == m.cursor && m.focused:
			l = m.st.Selected.Render(l)
		case r.Tone == Muted:
			l = m.st.Muted.Render(l)
		case r.Tone == Good:
			l = m.st.Good.Render(l)
		case r.Tone == Warn:
			l = m.st.Warn.Render(l)
		case r.Tone == Bad:
			l = m.st.Bad.Render(l)
		default:
			l = m.st.Text.Render(l)
		}
		b.WriteString(l)
	}
	b.WriteByte('\n')
	b.WriteString(m.footer())
	return b.String()
}

func (m Model) footer() string {
	count := itoa(len(m.view)) + "/" + itoa(len(m.rows))
	switch {
	case m.editing:
		k := m.km.FilterLine
		return m.st.Title.Render("/"+model.SafeText(m.filter)+"█") +
			m.st.Muted.Render("  "+count+"  "+k.Keep.Help().Key+" "+k.Keep.Help().Desc+" · "+k.Clear.Help().Key+" "+k.Clear.Help().Desc)
	case m.filter != "":
		return m.st.Muted.Render("filter: " + model.SafeText(m.filter) + "  " + count)
	}
	return m.st.Muted.Render(count)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d [20]byte
	i := len(d)
	for n > 0 {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return string(d[i:])
}
