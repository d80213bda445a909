package iscsi

import "fmt"

// Line is the step as one line of progress: status, title, the virsh
// command that does the same and, when it failed or was kept, why. The
// headless commands print it on stderr and the teardown screen shows it.
func (st Step) Line() string {
	line := fmt.Sprintf("%-11s %s", st.Status, st.Title)
	if st.Virsh != "" {
		line += "   (" + st.Virsh + ")"
	}
	if st.Error != "" {
		line += ": " + st.Error
	}
	return line
}
