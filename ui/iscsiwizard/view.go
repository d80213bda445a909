package iscsiwizard

import (
	"fmt"
	"strings"

	"github.com/dustin/go-humanize"

	"stowage/iscsi"
	"stowage/model"
)

var stageLabels = []string{"1 portal", "2 target", "3 LUNs", "4 check and names", "5 done"}

// View renders the current stage, the steps done so far and any error.
// Target names, LUN paths, what the probe found, step titles and errors
// come from the SAN, libvirt and LVM: they are escaped (model.SafeText)
// here, where they meet the terminal, and nowhere else.
func (m *Model) View() string {
	st, k := m.d.Styles, m.d.Keys
	safe := model.SafeText
	var b strings.Builder
	host, _, _ := strings.Cut(m.d.HostURI, "?") // key and known_hosts paths are noise here
	b.WriteString(st.Title.Render("LVM on iSCSI on "+safe(host)) + "\n")
	for i, n := range stageLabels {
		if stage(i) == m.stage {
			b.WriteString(st.Selected.Render(" "+n+" ") + " ")
		} else {
			b.WriteString(st.Muted.Render(" "+n+" ") + " ")
		}
	}
	b.WriteString("\n\n")
	switch m.stage {
	case stagePortal:
		b.WriteString(st.Text.Render("Where is the SAN? Discovery runs on the hypervisor, where the LUNs must appear.") + "\n\n")
		for _, in := range m.inputs() {
			b.WriteString(in.View() + "\n")
		}
		b.WriteString(m.chapSecret.View() + "\n")
	case stageTargets:
		b.WriteString(st.Text.Render("Targets at "+safe(m.portalVal.String())+": "+k.Next.Help().Key+" defines and starts an iscsi pool (the host logs in).") + "\n\n")
		for i, t := range m.targets {
			line := fmt.Sprintf("%-50s %s", safe(t.IQN), safe(t.Portal))
			b.WriteString(m.row(i == m.cursor, line) + "\n")
		}
	case stageLUNs:
		b.WriteString(st.Text.Render("LUNs of the target: "+k.Toggle.Help().Key+" picks, "+k.Next.Help().Key+" reads what the picked LUNs hold. A VG will span them.") + "\n\n")
		b.WriteString(st.Muted.Render(fmt.Sprintf("    %-4s %-10s %-28s %s", "LUN", "size", "holds", "path")) + "\n")
		for i, l := range m.luns {
			mark := "[ ]"
			if m.picked[l.Number] {
				mark = "[x]"
			}
			holds := "nothing libvirt sees"
			switch {
			case l.Pool != "":
				holds = "VG " + l.VG + " of pool " + l.Pool
			case l.VG != "":
				holds = "VG " + l.VG
			case l.Content != "":
				holds = l.Content
			}
			line := fmt.Sprintf("%s %-4d %-10s %-28s %s", mark, l.Number, humanize.IBytes(l.Capacity), safe(holds), safe(l.Path))
			if l.InUse() {
				line = st.Warn.Render(line)
			}
			b.WriteString(m.row(i == m.cursor, line) + "\n")
		}
	case stageNames:
		b.WriteString(st.Text.Render(fmt.Sprintf("A VG on LUN %s and a logical pool over it (names unique on the host).", iscsi.LUNsSummary(m.pickedLUNs()))) + "\n\n")
		if m.findings != nil {
			for _, l := range m.findings.Lines() {
				b.WriteString(st.Text.Render("  "+safe(l)) + "\n")
			}
		}
		if want := m.needsConfirm(); want != "" {
			b.WriteString(st.Bad.Render(fmt.Sprintf("DANGER: building destroys what was found above. To confirm exactly that, type %s in Confirm.", want)) + "\n")
		}
		b.WriteString("\n")
		for _, in := range m.inputs() {
			b.WriteString(in.View() + "\n")
		}
	case stageDone:
		if m.err == "" {
			b.WriteString(st.Good.Render(fmt.Sprintf("Pool %s is active and autostarts: it can create drives (VG %s).", safe(m.pool.Value()), safe(m.vg.Value()))) + "\n")
			if m.d.CreateDrive != nil {
				b.WriteString(st.Text.Render("Press "+k.CreateDrive.Help().Key+" to create its first encrypted drive; "+k.Back.Help().Key+" closes.") + "\n")
			}
		}
	}
	if m.busy != "" {
		b.WriteString("\n" + st.Warn.Render("… "+safe(m.busy)) + "\n")
	}
	if m.err != "" {
		b.WriteString("\n" + st.Bad.Render("✗ "+model.SafeLines(m.err)) + "\n")
	}
	if len(m.steps) == 0 {
		return b.String()
	}
	// Steps fill what the screen has left, newest kept.
	var lines []string
	for _, s := range m.steps {
		lines = append(lines, strings.Split(m.stepLine(s), "\n")...)
	}
	room := len(lines)
	if m.height > 0 {
		room = max(3, m.height-strings.Count(b.String(), "\n")-3)
	}
	if len(lines) > room {
		lines = append([]string{st.Muted.Render(fmt.Sprintf("  … %d earlier lines", len(lines)-room+1))}, lines[len(lines)-room+1:]...)
	}
	b.WriteString("\n" + st.Muted.Render("Steps ("+k.XML.Help().Key+": XML and virsh):") + "\n")
	b.WriteString(strings.Join(lines, "\n") + "\n")
	return b.String()
}

func (m *Model) row(selected bool, line string) string {
	if selected {
		return m.d.Styles.Selected.Render("> " + line)
	}
	return "  " + line
}

func (m *Model) stepLine(s iscsi.Step) string {
	st := m.d.Styles
	mark := map[iscsi.StepStatus]string{iscsi.StepRunning: "…", iscsi.StepDone: "✓", iscsi.StepExisted: "=",
		iscsi.StepFailed: "✗", iscsi.StepRolledBack: "↶", iscsi.StepKept: "≠", iscsi.StepWarning: "!"}[s.Status]
	line := fmt.Sprintf("  %s %s", mark, model.SafeText(s.Title))
	if s.Error != "" && s.Status != iscsi.StepFailed {
		line += " (" + model.SafeLines(s.Error) + ")"
	}
	switch s.Status {
	case iscsi.StepFailed, iscsi.StepWarning, iscsi.StepKept:
		line = st.Bad.Render(line)
	case iscsi.StepDone:
		line = st.Good.Render(line)
	}
	if m.showXML && s.Virsh != "" {
		line += "\n" + st.Muted.Render("      $ "+model.SafeText(s.Virsh))
		for _, x := range strings.Split(strings.TrimSpace(s.XML), "\n") {
			if x != "" {
				line += "\n" + st.Muted.Render("      "+model.SafeText(x))
			}
		}
	}
	return line
}
