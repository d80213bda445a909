package iscsiteardown

import (
	"fmt"
	"strings"

	"stowage/iscsi"
	"stowage/model"
	"stowage/ui/keys"
)

// View draws the stage. Every name comes from libvirt or LVM and is
// escaped for the terminal (model.SafeText).
func (m *Model) View() string {
	s := m.d.Styles
	var b strings.Builder
	b.WriteString(s.Bad.Render(keys.DangerMark+" Tear down LVM on iSCSI: "+model.SafeText(m.d.At.Pool)) + "\n\n")
	switch m.stage {
	case loading:
		if m.loadErr != nil {
			b.WriteString(s.Bad.Render(model.SafeLines(m.loadErr.Error())) + "\n")
			b.WriteString(s.Muted.Render("Nothing was changed.") + "\n")
		} else {
			b.WriteString(s.Muted.Render("reading what the teardown would remove…") + "\n")
		}
	case previewing:
		b.WriteString(m.previewText())
		b.WriteString("\n" + s.Text.Render(fmt.Sprintf("Type %q to tear all of this down:", model.SafeText(m.pv.ConfirmName()))) + "\n")
		b.WriteString(m.input.View() + "\n")
		if m.typeErr != "" {
			b.WriteString(s.Bad.Render(model.SafeText(m.typeErr)) + "\n")
		}
	case running, finished:
		for _, st := range m.steps {
			b.WriteString(m.stepLine(st) + "\n")
		}
		if m.stage == running {
			b.WriteString(s.Muted.Render("running: removal steps cannot be undone, so the run cannot be cancelled") + "\n")
		}
	}
	if m.stage == finished {
		b.WriteString("\n")
		switch {
		case m.err != nil:
			b.WriteString(s.Bad.Render(model.SafeLines(m.err.Error())) + "\n")
		default:
			b.WriteString(s.Good.Render("torn down: "+model.SafeText(m.pv.ConfirmName())) + "\n")
		}
		for _, a := range m.res.LeftAlone {
			b.WriteString(s.Warn.Render(model.SafeText(a)) + "\n")
		}
	}
	b.WriteString("\n" + s.Muted.Render(keys.Hint(m.ShortHelp()...)))
	return b.String()
}

func (m *Model) previewText() string {
	s := m.d.Styles
	var b strings.Builder
	pv := m.pv
	b.WriteString(s.Text.Render("This removes, on "+model.SafeText(pv.Host)+":") + "\n")
	items := pv.Items
	// The drives come first; when two lines each would push the rest (and
	// the name to type) off the screen, they are named in one paragraph:
	// every one is still shown before it is destroyed.
	if n := len(pv.LVs); n > 0 && n <= len(items) && m.height > 0 && 2*len(items)+len(pv.Kept)+12 > m.height {
		var names []string
		for _, v := range pv.LVs {
			names = append(names, model.SafeText(v.Name)+" ("+model.IBytes(v.Capacity)+")")
		}
		head := fmt.Sprintf("- %d drives in VG %s, each with its data (lvremove %s/NAME): ", n, model.SafeText(pv.VG), model.SafeText(pv.VG))
		for i := range names[:len(names)-1] {
			names[i] += ","
		}
		b.WriteString(s.Text.Render(wrap(append(strings.Fields("  "+head), names...), m.width, "      ")) + "\n")
		items = items[n:]
	}
	for _, it := range items {
		b.WriteString("  " + s.Text.Render("- "+model.SafeText(it.What)) + "\n")
		b.WriteString("      " + s.Muted.Render(model.SafeText(it.Command)) + "\n")
	}
	if pv.Logical != nil {
		b.WriteString(s.Warn.Render(fmt.Sprintf("%d drive(s) in VG %s are destroyed with their data, whoever made them.", len(pv.LVs), model.SafeText(pv.VG))) + "\n")
	}
	for _, k := range pv.Kept {
		b.WriteString(s.Muted.Render("kept: "+model.SafeText(k)) + "\n")
	}
	return b.String()
}

func (m *Model) stepLine(st iscsi.Step) string {
	s := m.d.Styles
	style := s.Text
	switch st.Status {
	case iscsi.StepDone:
		style = s.Good
	case iscsi.StepFailed:
		style = s.Bad
	case iscsi.StepExisted, iscsi.StepKept, iscsi.StepWarning:
		style = s.Warn
	}
	return style.Render(model.SafeText(st.Line()))
}

// wrap joins words with spaces into lines of at most width (a word
// longer than that stands alone), indenting every line after the first.
func wrap(words []string, width int, indent string) string {
	var b strings.Builder
	b.WriteString("  ")
	line := 2
	for i, w := range words {
		n := len([]rune(w))
		switch {
		case i == 0:
		case width > len(indent)+10 && line+1+n > width:
			b.WriteString("\n" + indent)
			line = len(indent)
		default:
			b.WriteString(" ")
			line++
		}
		b.WriteString(w)
		line += n
	}
	return b.String()
}
