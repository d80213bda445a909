// Package driveconfirm holds the confirmations of destructive drive
// actions: delete (the drive's name must be typed) and detach (the guest
// device must be typed, with live/persistent chosen), each followed by the
// progress view. main leaves them unwired under --readonly.
//
// They are what the keymap's Dangerous actions open (keys.Confirmer):
// the root refuses to open anything else for them.
//
// It imports model, drive (types only), ui/common, ui/keys,
// ui/driveprogress and ui/drivewizard (for Deps); never libvirtx or ceph.
package driveconfirm

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"stowage/drive"
	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/driveprogress"
	"stowage/ui/drivewizard"
	"stowage/ui/keys"
)

type kind int

const (
	deleting kind = iota
	detaching
)

// Confirm asks for a typed name, then runs the action in a progress view.
type Confirm struct {
	deps     drivewizard.Deps
	at       common.DriveTarget
	kind     kind
	want     string
	input    textinput.Model
	modes    []model.AttachMode
	mode     int
	err      error
	progress *driveprogress.Model
	keys     keys.ConfirmKeys
	width    int
	height   int
}

func newConfirm(d drivewizard.Deps, at common.DriveTarget, k kind, want string) *Confirm {
	c := &Confirm{deps: d, at: at, kind: k, want: want, input: textinput.New()}
	c.input.Placeholder = model.SafeText(want) // shown; want stays the name to compare
	c.input.Focus()
	c.keys = d.Bindings().Confirm
	c.keys.Mode.SetEnabled(k == detaching)
	c.modes = []model.AttachMode{{Live: true, Persistent: true}, {Live: true}, {Persistent: true}}
	return c
}

// NewDelete asks for the drive's name, then deletes its volume (or RBD
// image) and its secret. The workflow itself refuses a drive in use.
func NewDelete(d drivewizard.Deps, at common.DriveTarget) common.Component {
	return newConfirm(d, at, deleting, at.Volume)
}

// NewDetach asks for the disk's target (vdb) and where to detach it from.
func NewDetach(d drivewizard.Deps, at common.DriveTarget) common.Component {
	return newConfirm(d, at, detaching, at.Disk)
}

// Init starts the cursor blinking.
func (c *Confirm) Init() tea.Cmd { return textinput.Blink }

// Update handles typing, confirmation and then the progress view.
func (c *Confirm) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	if c.progress != nil {
		_, cmd := c.progress.Update(msg)
		return c, cmd
	}
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, c.keys.Cancel):
			return c, common.Pop(nil)
		case key.Matches(k, c.keys.Mode):
			c.mode = (c.mode + 1) % len(c.modes)
			return c, nil
		case key.Matches(k, c.keys.Confirm):
			if c.input.Value() != c.want {
				c.err = fmt.Errorf("type %q exactly to confirm", c.want)
				return c, nil
			}
			return c, c.start()
		}
	}
	var cmd tea.Cmd
	c.input, cmd = c.input.Update(msg)
	if _, typed := msg.(tea.KeyPressMsg); typed {
		// Typing again answers the refusal; a blink or a refresh must not
		// wipe it before it was read.
		c.err = nil
	}
	return c, cmd
}

func (c *Confirm) start() tea.Cmd {
	b, err := c.deps.Backend(c.at.HostURI)
	if err != nil {
		c.err = err
		return nil
	}
	at, mode := c.at, c.modes[c.mode]
	var run driveprogress.Run
	var plan []model.Step
	var title string
	switch c.kind {
	case deleting:
		title = "delete drive " + at.Pool + "/" + at.Volume
		plan = model.DeletePlan(true)
		run = func(ctx context.Context, ev chan<- drive.Event) (drive.Result, error) {
			return b.Delete(ctx, at.Pool, at.Volume, ev)
		}
	case detaching:
		title = fmt.Sprintf("detach %s from %s", at.Disk, at.VM)
		plan = []model.Step{{ID: model.StepDetach, Title: fmt.Sprintf("detach %s from %s (%s)", at.Disk, at.VM, mode)}}
		run = func(ctx context.Context, ev chan<- drive.Event) (drive.Result, error) {
			return b.Detach(ctx, at.VM, at.Disk, mode, ev)
		}
	}
	c.progress = driveprogress.New(title, plan, run, c.deps.Styles, c.deps.Bindings().Progress)
	c.progress.SetSize(c.width, c.height)
	c.progress.Focus()
	return c.progress.Init()
}

// View draws the question or the progress. Names from libvirt are shown
// escaped (model.SafeText).
func (c *Confirm) View() string {
	if c.progress != nil {
		return c.progress.View()
	}
	s := c.deps.Styles
	var b strings.Builder
	switch c.kind {
	case deleting:
		b.WriteString(s.Bad.Render(keys.DangerMark+" Delete drive "+model.SafeText(c.at.Pool+"/"+c.at.Volume)) + "\n\n")
		b.WriteString(s.Text.Render("This deletes the volume (or RBD image) and undefines its secret: the data is gone for good.\n"+
			"A drive attached to a VM is refused: detach it first.") + "\n\n")
		b.WriteString(s.Text.Render("Type the drive's name to confirm:") + "\n")
	case detaching:
		b.WriteString(s.Warn.Render("Detach "+model.SafeText(c.at.Disk)+" from "+model.SafeText(c.at.VM)) + "\n\n")
		b.WriteString(s.Text.Render("from: ") + s.Title.Render(c.modes[c.mode].String()) + s.Muted.Render("  ("+c.keys.Mode.Help().Key+" to change)") + "\n")
		b.WriteString(s.Muted.Render("A live unplug needs the guest OS to release the disk; stowage says when it has not yet.") + "\n\n")
		b.WriteString(s.Text.Render("Type the device name to confirm:") + "\n")
	}
	b.WriteString(c.input.View() + "\n")
	if c.err != nil {
		b.WriteString(s.Bad.Render(model.SafeLines(c.err.Error())) + "\n")
	}
	b.WriteString("\n" + s.Muted.Render(keys.Hint(c.keys.Confirm, c.keys.Cancel)))
	return b.String()
}

// SetSize records the size.
func (c *Confirm) SetSize(w, h int) {
	c.width, c.height = w, h
	if c.progress != nil {
		c.progress.SetSize(w, h)
	}
}

// Focus focuses the input.
func (c *Confirm) Focus() { c.input.Focus() }

// Blur blurs the input.
func (c *Confirm) Blur() { c.input.Blur() }

// ShortHelp lists the enabled bindings.
func (c *Confirm) ShortHelp() []key.Binding {
	if c.progress != nil {
		return c.progress.ShortHelp()
	}
	var out []key.Binding
	for _, k := range []key.Binding{c.keys.Confirm, c.keys.Mode, c.keys.Cancel} {
		if k.Enabled() {
			out = append(out, k)
		}
	}
	return out
}

// FullHelp is ShortHelp in one column.
func (c *Confirm) FullHelp() [][]key.Binding { return [][]key.Binding{c.ShortHelp()} }

// Owns routes its progress view's run here (common.Owner).
func (c *Confirm) Owns(r common.Route) (mine, current bool) {
	if c.progress == nil {
		return false, false
	}
	return c.progress.Owns(r)
}

// Title names the screen.
func (c *Confirm) Title() string {
	if c.kind == deleting {
		return "delete drive"
	}
	return "detach disk"
}

// Capturing keeps every key here while the name is typed and while the
// action runs (see drivewizard.Wizard.Capturing).
func (c *Confirm) Capturing() bool {
	if c.progress != nil {
		return c.progress.Capturing()
	}
	return true
}

// Confirms marks the screen as the confirmation a Dangerous action must
// open (keys.Confirmer).
func (c *Confirm) Confirms() {}

var (
	_ common.Capturing = (*Confirm)(nil)
	_ keys.Confirmer   = (*Confirm)(nil)
)
