package drivewizard

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"stowage/drive"
	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/driveprogress"
	"stowage/ui/keys"
)

// Update routes messages by phase.
func (w *Wizard) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	if w.closed {
		return w, nil
	}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		w.SetSize(msg.Width, msg.Height)
	case loadedMsg:
		if !w.req.Current(msg.Route) {
			return w, nil
		}
		if msg.err != nil {
			w.err = msg.err
			return w, nil
		}
		w.pools, w.names, w.vms = msg.pools, msg.names, msg.vms
		w.phase = form
		w.buildForm()
		return w, w.form.Init()
	case preparedMsg:
		if !w.req.Current(msg.Route) {
			return w, nil
		}
		if errors.Is(msg.err, drive.ErrNeedsChoice) && w.fallback == "" {
			w.err = msg.err
			w.phase = choosing
			w.buildChoice()
			return w, w.form.Init()
		}
		if msg.err != nil {
			w.err = msg.err
			w.phase = form
			w.buildForm()
			return w, w.form.Init()
		}
		w.err, w.prepared, w.preview, w.phase = nil, msg.p, msg.pv, review
		return w, nil
	}
	switch w.phase {
	case loading:
		if k, ok := msg.(tea.KeyPressMsg); ok && key.Matches(k, w.keys.Back) {
			return w, common.Pop(nil)
		}
	case form, choosing:
		m, cmd := w.form.Update(msg)
		if f, ok := m.(*huh.Form); ok {
			w.form = f
		}
		switch w.form.State {
		case huh.StateAborted:
			if w.phase == choosing {
				w.phase = form
				w.buildForm()
				return w, w.form.Init()
			}
			w.closed = true
			return w, common.Pop(nil)
		case huh.StateCompleted:
			return w, w.prepare()
		}
		return w, cmd
	case review:
		if k, ok := msg.(tea.KeyPressMsg); ok {
			switch {
			case key.Matches(k, w.keys.Down):
				w.scroll++
			case key.Matches(k, w.keys.Up):
				w.scroll = max(0, w.scroll-1)
			case key.Matches(k, w.keys.Create):
				return w, w.start()
			case key.Matches(k, w.keys.Back):
				w.phase = form
				w.fallback = ""
				w.buildForm()
				return w, w.form.Init()
			}
		}
	case running:
		_, cmd := w.progress.Update(msg)
		return w, cmd
	}
	return w, nil
}

// buildChoice asks how to attach a librbd-encrypted disk that this
// libvirt cannot hot-plug: stowage never downgrades silently.
func (w *Wizard) buildChoice() {
	opts := []huh.Option[string]{
		huh.NewOption("attach persistently; the disk appears at the VM's next start (librbd)", string(model.FallbackNextStart)),
	}
	if w.enc != "luks2" {
		opts = append(opts, huh.NewOption("attach live with QEMU-layer decryption (slower)", string(model.FallbackQEMU)))
	}
	w.fallback = string(model.FallbackNextStart)
	w.form = huh.NewForm(huh.NewGroup(
		huh.NewSelect[string]().Title("This libvirt cannot hot-plug a disk decrypted by librbd").
			Description(drive.HotplugChoices(w.enc)).Options(opts...).Value(&w.fallback),
	)).WithTheme(huh.ThemeFunc(huh.ThemeBase)).WithShowHelp(true)
	w.form.WithKeyMap(FormKeys(w.deps.Bindings().Form, "back"))
	if w.width > 0 {
		w.form.WithWidth(w.width)
	}
}

func (w *Wizard) start() tea.Cmd {
	b, p := w.backend, w.prepared
	run := func(ctx context.Context, events chan<- drive.Event) (drive.Result, error) {
		return b.Create(ctx, p, events)
	}
	w.progress = driveprogress.New("create drive "+p.Spec.Pool+"/"+p.Spec.Name, p.Plan, run, w.deps.Styles, w.deps.Bindings().Progress)
	w.progress.SetSize(w.width, w.height)
	w.progress.Focus()
	w.phase = running
	return w.progress.Init()
}

// View draws the current phase.
func (w *Wizard) View() string {
	s := w.deps.Styles
	switch w.phase {
	case loading:
		if w.err != nil {
			return s.Bad.Render("cannot open the wizard: ") + s.Text.Render(model.SafeLines(w.err.Error())) + "\n\n" + s.Muted.Render(keys.Hint(w.keys.Back))
		}
		return s.Muted.Render("reading pools and VMs of " + model.SafeText(w.at.HostURI) + "…")
	case preparing:
		return s.Muted.Render("checking the drive against the host…")
	case form, choosing:
		out := w.form.View()
		if w.err != nil {
			out = s.Bad.Render(model.SafeLines(w.err.Error())) + "\n\n" + out
		}
		return out
	case review:
		return w.scrolled(w.reviewView())
	case running:
		return w.progress.View()
	}
	return ""
}

// reviewView shows what will be made; pool, drive and VM names, and the
// XML and commands that carry them, are escaped (model.SafeText).
func (w *Wizard) reviewView() string {
	s := w.deps.Styles
	p := w.prepared
	safe := model.SafeText
	var b strings.Builder
	b.WriteString(s.Title.Render("Review: create "+safe(p.Spec.Pool)+"/"+safe(p.Spec.Name)) + "\n\n")
	fmt.Fprintf(&b, "%s  %s, %s, encryption %s", s.Text.Render("drive"), model.IBytes(p.Spec.Size), p.Spec.Format, p.Spec.Encryption)
	if p.Spec.AttachVM != "" {
		fmt.Fprintf(&b, ", attach to %s as %s (%s)", safe(p.Spec.AttachVM), safe(p.Target), p.Spec.Attach)
	}
	b.WriteString("\n")
	for _, wn := range p.Warnings {
		b.WriteString(s.Warn.Render("warning: "+model.SafeLines(wn)) + "\n")
	}
	b.WriteString("\n" + s.Header.Render(" steps ") + "\n")
	for i, st := range p.Plan {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, safe(st.Title))
	}
	for _, sec := range []struct{ title, body string }{
		{"secret XML", w.preview.SecretXML}, {"volume XML", w.preview.VolumeXML}, {"disk XML", w.preview.DiskXML},
		{"equivalent commands", strings.Join(w.preview.Commands, "\n")},
	} {
		if sec.body == "" {
			continue
		}
		b.WriteString("\n" + s.Header.Render(" "+sec.title+" ") + "\n" + s.Muted.Render(model.SafeLines(sec.body)) + "\n")
	}
	b.WriteString("\n" + s.Muted.Render("the passphrase is 32 random bytes, set through libvirt's API and never shown"))
	return b.String()
}

// scrolled clips the review to the screen, keeping the keys line visible.
func (w *Wizard) scrolled(body string) string {
	s := w.deps.Styles
	k := w.keys
	footer := s.Title.Render(keys.Hint(k.Create)) +
		s.Muted.Render(" · "+k.Up.Help().Key+"/"+k.Down.Help().Key+" scroll · "+keys.Hint(keys.WithHelp(k.Back, "back to the form")))
	lines := strings.Split(body, "\n")
	room := w.height - 2
	if room <= 0 || len(lines) <= room {
		return body + "\n" + footer
	}
	w.scroll = min(w.scroll, len(lines)-room)
	return strings.Join(lines[w.scroll:w.scroll+room], "\n") + "\n" + footer
}

// SetSize passes the size on.
func (w *Wizard) SetSize(width, height int) {
	w.width, w.height = width, height
	if w.form != nil && width > 0 {
		w.form.WithWidth(width)
	}
	if w.progress != nil {
		w.progress.SetSize(width, height)
	}
}

// Focus is a no-op: the wizard is a full screen.
func (w *Wizard) Focus() {}

// Blur is a no-op.
func (w *Wizard) Blur() {}

// ShortHelp lists the bindings of the current phase.
func (w *Wizard) ShortHelp() []key.Binding {
	switch w.phase {
	case form, choosing:
		return w.form.KeyBinds()
	case review:
		return []key.Binding{w.keys.Create, w.keys.Up, w.keys.Down, w.keys.Back}
	case running:
		return w.progress.ShortHelp()
	}
	return []key.Binding{w.keys.Back}
}

// FullHelp is ShortHelp in one column.
func (w *Wizard) FullHelp() [][]key.Binding { return [][]key.Binding{w.ShortHelp()} }

// Title names the screen.
func (w *Wizard) Title() string { return "create drive" }

// Owns routes its reads and its progress view's run here (common.Owner).
func (w *Wizard) Owns(r common.Route) (mine, current bool) {
	if w.progress != nil {
		if mine, current := w.progress.Owns(r); mine {
			return mine, current
		}
	}
	return w.req.Owns(r)
}
