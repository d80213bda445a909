// Package keys holds every key the console reacts to as data: one
// key.Binding per action, each with an action name users remap in
// config.yaml (`keys:`), a scope (the screen where it is live) and, for
// destructive actions, a Dangerous flag. Components get their bindings
// from a Map passed in their deps and enable or disable them from their
// state, so dispatch, hints and the `?` help always agree. Remap refuses
// a key that two actions live at the same time would share. It imports
// bubbles/key only.
package keys

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
)

// DangerMark follows the help of every Dangerous action.
const DangerMark = "⚠"

// Scope names where an action is live. Two actions of one scope are live
// at the same time; so are an action of the Global scope and one marked
// WithGlobals. Keys may repeat across other scopes (enter and esc on
// every screen).
type Scope string

// Scopes: the root's keys, the browser's lists, and each screen.
const (
	Global      Scope = "global"       // the root: palette, help, refresh, quit, views, trust
	Browser     Scope = "browser"      // the lists, their table, the describe and findings screens
	FilterLine  Scope = "filter"       // the table's filter line while it is typed
	PaletteLine Scope = "palette"      // the `:` command line
	Form        Scope = "form"         // the drive screens' forms (huh)
	DriveWizard Scope = "drive_wizard" // the drive wizard's review (and its loading screens)
	Confirm     Scope = "confirm"      // the typed-name confirmations (delete, detach, a doctor fix)
	Progress    Scope = "progress"     // a drive workflow's progress view
	ISCSIWizard Scope = "iscsi"        // the LVM-on-iSCSI wizard
	FirstPool   Scope = "first_pool"   // the first-pool form
)

// Map is every action's binding. Field names are documentation; the
// action names users remap are those of Map.Actions.
type Map struct {
	Up, Down, PageUp, PageDown, Top, Bottom       key.Binding
	Enter, Back, Describe, Filter, Sort, SortDesc key.Binding
	Palette, Help, Refresh, Quit                  key.Binding
	Hosts, Pools, Volumes, VMs, Secrets, Ceph     key.Binding
	CreateDrive, AttachDrive, DeleteDrive         key.Binding
	DetachDrive, LVMOnISCSI                       key.Binding
	NewDirPool, NewRBDPool, Trust                 key.Binding
	// Diagnose opens the doctor's findings on the selected object; Fix
	// applies the selected finding's fix (the findings screen, which
	// shares the browser's keys).
	Diagnose, Fix key.Binding
	// Storage lifecycle (issue 12). Pool actions live on the pools view,
	// drive actions on the volumes view; DefinePool wherever a host is
	// selected; TeardownISCSI on a logical pool built on an iscsi pool
	// (or that iscsi pool).
	PoolStart, PoolStop, PoolRefresh, PoolAutostart, PoolBuild key.Binding
	PoolDelete, PoolUndefine, DefinePool, TeardownISCSI        key.Binding
	ResizeDrive, CloneDrive, WipeDrive, UploadDrive            key.Binding
	DownloadDrive                                              key.Binding

	FilterLine  FilterLineKeys
	PaletteLine PaletteLineKeys
	Form        FormKeys
	DriveWizard DriveWizardKeys
	Confirm     ConfirmKeys
	Progress    ProgressKeys
	ISCSI       ISCSIKeys
	FirstPool   FirstPoolKeys
}

// FilterLineKeys are the table's filter line's (typed text is text).
type FilterLineKeys struct{ Keep, Clear, Erase key.Binding }

// PaletteLineKeys are the `:` line's (typed text is text).
type PaletteLineKeys struct{ Run, Complete, Close, Erase key.Binding }

// FormKeys move through the drive screens' forms; they are copied into
// huh's keymap, whose other keys (a select's filter, half pages) stay
// huh's own.
type FormKeys struct{ Next, Prev, Up, Down, Cancel key.Binding }

// DriveWizardKeys are the create-drive review's (Back also leaves the
// drive screens while they load).
type DriveWizardKeys struct{ Create, Back, Up, Down key.Binding }

// ConfirmKeys are the delete and detach confirmations' and a doctor
// fix's (Mode moves between its fields there).
type ConfirmKeys struct{ Confirm, Cancel, Mode key.Binding }

// ProgressKeys are the progress view's: Cancel rolls back, and pressed
// again during the rollback quits the console at once.
type ProgressKeys struct{ Cancel, Close key.Binding }

// ISCSIKeys are the LVM-on-iSCSI wizard's.
type ISCSIKeys struct {
	Next, Back, Up, Down, Toggle, Field, XML, CreateDrive key.Binding
}

// FirstPoolKeys are the first-pool form's.
type FirstPoolKeys struct{ Next, Prev, Submit, Cancel key.Binding }

func bind(help string, keys ...string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(keys[0], help))
}

// shown is a binding whose help shows helpKey (arrows, several keys).
func shown(helpKey, help string, keys ...string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(helpKey, help))
}

// Default is the k9s/lazygit-style keymap. Dangerous actions get the
// danger mark after their help here, from the flag.
func Default() Map {
	m := Map{
		Up:            bind("up", "up", "k"),
		Down:          bind("down", "down", "j"),
		PageUp:        bind("page up", "pgup", "ctrl+b"),
		PageDown:      bind("page down", "pgdown", "ctrl+f"),
		Top:           bind("top", "home", "g"),
		Bottom:        bind("bottom", "end", "G"),
		Enter:         bind("open", "enter"),
		Back:          bind("back", "esc"),
		Describe:      bind("describe (XML, virsh)", "d"),
		Filter:        bind("filter", "/"),
		Sort:          bind("sort by next column", "s"),
		SortDesc:      bind("reverse sort", "S"),
		Palette:       bind("command palette", ":"),
		Help:          bind("help", "?"),
		Refresh:       bind("refresh", "r", "ctrl+r"),
		Quit:          bind("quit", "q", "ctrl+c"),
		Hosts:         bind("hosts", "1"),
		Pools:         bind("pools", "2"),
		Volumes:       bind("volumes", "3"),
		VMs:           bind("VMs", "4"),
		Secrets:       bind("secrets", "5"),
		Ceph:          bind("Ceph (of the selected rbd pool or drive)", "6"),
		CreateDrive:   bind("create drive", "c"),
		AttachDrive:   bind("attach drive", "a"),
		DeleteDrive:   bind("delete drive", "ctrl+d"),
		DetachDrive:   bind("detach drive", "x"),
		LVMOnISCSI:    bind("LVM-on-iSCSI wizard", "L"),
		NewDirPool:    bind("new dir pool", "n"),
		NewRBDPool:    bind("new rbd pool", "b"),
		Trust:         bind("trust host key", "y"),
		Diagnose:      bind("diagnose (doctor)", "D"),
		Fix:           bind("apply the fix", "f"),
		PoolStart:     bind("start pool", "t"),
		PoolStop:      bind("stop pool", "p"),
		PoolRefresh:   bind("rescan pool", "alt+r"),
		PoolAutostart: bind("toggle autostart", "o"),
		PoolBuild:     bind("build pool", "B"),
		PoolDelete:    bind("delete pool storage", "ctrl+x"),
		PoolUndefine:  bind("undefine pool", "U"),
		DefinePool:    bind("define pool", "N"),
		TeardownISCSI: bind("tear down LVM on iSCSI", "ctrl+t"),
		ResizeDrive:   bind("resize drive", "z"),
		CloneDrive:    bind("clone drive", "C"),
		WipeDrive:     bind("wipe drive", "W"),
		UploadDrive:   bind("upload into drive", "u"),
		DownloadDrive: bind("download drive", "e"),
		FilterLine: FilterLineKeys{
			Keep:  bind("keep", "enter"),
			Clear: bind("clear", "esc"),
			Erase: bind("erase", "backspace"),
		},
		PaletteLine: PaletteLineKeys{
			Run:      bind("run", "enter"),
			Complete: bind("complete", "tab"),
			Close:    bind("close", "esc"),
			Erase:    bind("erase", "backspace"),
		},
		// huh's own defaults, so forms behave as they always did.
		Form: FormKeys{
			Next:   bind("next", "enter", "tab"),
			Prev:   bind("back", "shift+tab"),
			Up:     shown("↑", "up", "up", "k", "ctrl+k", "ctrl+p"),
			Down:   shown("↓", "down", "down", "j", "ctrl+j", "ctrl+n"),
			Cancel: bind("cancel", "esc"),
		},
		DriveWizard: DriveWizardKeys{
			Create: bind("create", "enter"),
			Back:   bind("back", "esc"),
			Up:     shown("↑", "scroll up", "up", "k"),
			Down:   shown("↓", "scroll down", "down", "j"),
		},
		Confirm: ConfirmKeys{
			Confirm: bind("confirm", "enter"),
			Cancel:  bind("cancel", "esc"),
			Mode:    bind("live/persistent", "tab"),
		},
		Progress: ProgressKeys{
			Cancel: bind("cancel and roll back", "ctrl+c"),
			Close:  shown("enter/esc", "close", "enter", "esc"),
		},
		ISCSI: ISCSIKeys{
			Next:        bind("next", "enter"),
			Back:        bind("back / close", "esc"),
			Up:          shown("↑/k", "up", "up", "k"),
			Down:        shown("↓/j", "down", "down", "j"),
			Toggle:      bind("pick LUN", "space"),
			Field:       bind("next field", "tab"),
			XML:         bind("XML / virsh", "ctrl+x"),
			CreateDrive: bind("create first drive", "c"),
		},
		FirstPool: FirstPoolKeys{
			Next:   shown("tab", "next field", "tab", "down"),
			Prev:   shown("shift+tab", "previous field", "shift+tab", "up"),
			Submit: bind("next field; creates on the last", "enter"),
			Cancel: bind("cancel", "esc"),
		},
	}
	for _, a := range m.Actions() {
		if a.Dangerous {
			a.Binding.SetHelp(a.Binding.Help().Key, a.Binding.Help().Desc+" "+DangerMark)
		}
	}
	return m
}

// Action is one remappable binding and what the keymap knows of it.
type Action struct {
	// Name is what config.yaml's `keys:` calls it.
	Name  string
	Scope Scope
	// Binding points into the Map.
	Binding *key.Binding
	// WithGlobals: the root's Global keys are live while this action is
	// (its screen does not take every key then), so they must differ.
	WithGlobals bool
	// Dangerous actions destroy or cut off data: their help carries
	// DangerMark, and the root lets them open nothing but a confirmation.
	Dangerous bool
}

// Actions lists every action of m, in a fixed order.
func (m *Map) Actions() []Action {
	var out []Action
	add := func(s Scope, withGlobals bool, pairs ...any) {
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, Action{Name: pairs[i].(string), Scope: s, Binding: pairs[i+1].(*key.Binding), WithGlobals: withGlobals})
		}
	}
	add(Global, true, "palette", &m.Palette, "help", &m.Help, "refresh", &m.Refresh, "quit", &m.Quit,
		"hosts", &m.Hosts, "pools", &m.Pools, "volumes", &m.Volumes, "vms", &m.VMs, "secrets", &m.Secrets,
		"ceph", &m.Ceph, "trust_host_key", &m.Trust)
	add(Browser, true, "up", &m.Up, "down", &m.Down, "page_up", &m.PageUp, "page_down", &m.PageDown,
		"top", &m.Top, "bottom", &m.Bottom, "enter", &m.Enter, "back", &m.Back,
		"describe", &m.Describe, "filter", &m.Filter, "sort", &m.Sort, "sort_desc", &m.SortDesc,
		"create_drive", &m.CreateDrive, "attach_drive", &m.AttachDrive, "delete_drive", &m.DeleteDrive,
		"detach_drive", &m.DetachDrive, "lvm_on_iscsi", &m.LVMOnISCSI,
		"new_dir_pool", &m.NewDirPool, "new_rbd_pool", &m.NewRBDPool,
		"diagnose", &m.Diagnose, "fix", &m.Fix,
		"pool_start", &m.PoolStart, "pool_stop", &m.PoolStop, "pool_refresh", &m.PoolRefresh,
		"pool_autostart", &m.PoolAutostart, "pool_build", &m.PoolBuild, "pool_delete", &m.PoolDelete,
		"pool_undefine", &m.PoolUndefine, "define_pool", &m.DefinePool, "teardown_iscsi", &m.TeardownISCSI,
		"resize_drive", &m.ResizeDrive, "clone_drive", &m.CloneDrive, "wipe_drive", &m.WipeDrive,
		"upload_drive", &m.UploadDrive, "download_drive", &m.DownloadDrive)
	add(FilterLine, false, "filter.keep", &m.FilterLine.Keep, "filter.clear", &m.FilterLine.Clear,
		"filter.erase", &m.FilterLine.Erase)
	add(PaletteLine, false, "palette.run", &m.PaletteLine.Run, "palette.complete", &m.PaletteLine.Complete,
		"palette.close", &m.PaletteLine.Close, "palette.erase", &m.PaletteLine.Erase)
	add(Form, false, "form.next", &m.Form.Next, "form.prev", &m.Form.Prev, "form.up", &m.Form.Up,
		"form.down", &m.Form.Down, "form.cancel", &m.Form.Cancel)
	// The review and the loading screens do not capture keys.
	add(DriveWizard, true, "drive_wizard.create", &m.DriveWizard.Create, "drive_wizard.back", &m.DriveWizard.Back,
		"drive_wizard.up", &m.DriveWizard.Up, "drive_wizard.down", &m.DriveWizard.Down)
	add(Confirm, false, "confirm.confirm", &m.Confirm.Confirm, "confirm.cancel", &m.Confirm.Cancel,
		"confirm.mode", &m.Confirm.Mode)
	// Cancel is live while the workflow runs, which captures every key;
	// Close once it has finished, which does not.
	add(Progress, false, "progress.cancel", &m.Progress.Cancel)
	add(Progress, true, "progress.close", &m.Progress.Close)
	// The target and LUN lists and the last stage take no typing.
	add(ISCSIWizard, true, "iscsi.next", &m.ISCSI.Next, "iscsi.back", &m.ISCSI.Back, "iscsi.up", &m.ISCSI.Up,
		"iscsi.down", &m.ISCSI.Down, "iscsi.pick_lun", &m.ISCSI.Toggle, "iscsi.field", &m.ISCSI.Field,
		"iscsi.xml", &m.ISCSI.XML, "iscsi.create_drive", &m.ISCSI.CreateDrive)
	add(FirstPool, false, "first_pool.next", &m.FirstPool.Next, "first_pool.prev", &m.FirstPool.Prev,
		"first_pool.submit", &m.FirstPool.Submit, "first_pool.cancel", &m.FirstPool.Cancel)
	for i := range out {
		out[i].Dangerous = dangerous[out[i].Name]
	}
	return out
}

// dangerous are the actions that destroy data or cut a VM off it.
var dangerous = map[string]bool{"delete_drive": true, "detach_drive": true,
	"pool_delete": true, "pool_build": true, "pool_undefine": true, "pool_stop": true,
	"teardown_iscsi": true, "wipe_drive": true, "upload_drive": true}

// Confirmer is a screen that asks before it acts (a typed name, say). A
// Dangerous action may open nothing else: the root refuses to show any
// other screen for one, so a dangerous key without a confirmation step
// is a bug its tests catch.
type Confirmer interface {
	Confirms()
}

// Named maps each action name (as written in config.yaml) to its binding.
func (m *Map) Named() map[string]*key.Binding {
	out := map[string]*key.Binding{}
	for _, a := range m.Actions() {
		out[a.Name] = a.Binding
	}
	return out
}

// Dangerous reports whether b is one of m's Dangerous actions (the same
// keys and help: bindings are copied out of the Map by value).
func (m *Map) Dangerous(b key.Binding) bool {
	for _, a := range m.Actions() {
		if a.Dangerous && a.Binding.Help() == b.Help() && slices.Equal(a.Binding.Keys(), b.Keys()) {
			return true
		}
	}
	return false
}

// Remap applies config.yaml's `keys:` (action name → keys). An unknown
// action, an empty key list, or a key that two actions live at the same
// time would share is an error naming them; m is then left unchanged.
// The help shows an action's first key.
func (m *Map) Remap(remap map[string][]string) error {
	next := *m
	named := next.Named()
	names := make([]string, 0, len(remap))
	for n := range remap {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, action := range names {
		ks := remap[action]
		b, ok := named[action]
		if !ok {
			var valid []string
			for n := range named {
				valid = append(valid, n)
			}
			sort.Strings(valid)
			return fmt.Errorf("keys: unknown action %q (actions: %s)", action, strings.Join(valid, ", "))
		}
		if len(ks) == 0 {
			return fmt.Errorf("keys: action %q has no keys", action)
		}
		b.SetKeys(ks...)
		b.SetHelp(ks[0], b.Help().Desc)
	}
	if err := next.conflict(remap); err != nil {
		return err
	}
	*m = next
	return nil
}

// live reports whether a and b can be pressed on the same screen.
func live(a, b Action) bool {
	return a.Scope == b.Scope || (a.Scope == Global && b.WithGlobals) || (b.Scope == Global && a.WithGlobals)
}

// conflict finds a key two live actions share, starting from the
// remapped ones (the defaults share none: a test holds them to it).
func (m *Map) conflict(remapped map[string][]string) error {
	acts := m.Actions()
	order := make([]Action, 0, len(acts))
	for _, a := range acts {
		if _, ok := remapped[a.Name]; ok {
			order = append(order, a)
		}
	}
	sort.Slice(order, func(i, j int) bool { return order[i].Name < order[j].Name })
	for _, a := range append(order, acts...) {
		for _, b := range acts {
			if a.Name == b.Name || !live(a, b) {
				continue
			}
			for _, k := range a.Binding.Keys() {
				if !slices.Contains(b.Binding.Keys(), k) {
					continue
				}
				if _, both := remapped[b.Name]; both {
					return fmt.Errorf("keys: %q is given to both %s and %s, which are live on the same screen; give one of them another key", k, a.Name, b.Name)
				}
				return fmt.Errorf("keys: %q for %s is already %s's key; pick another key or remap %s too", k, a.Name, b.Name, b.Name)
			}
		}
	}
	return nil
}

// Enable returns b enabled or disabled: components call it from their
// state before dispatch and help.
func Enable(b key.Binding, on bool) key.Binding {
	b.SetEnabled(on)
	return b
}

// WithHelp returns b with desc as its help, for a screen that names the
// same action in its own words ("back to the form"); the key stays b's.
func WithHelp(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}

// Hint renders the enabled bindings as a screen's hint line:
// "enter: confirm · esc: cancel". A remap shows up here too.
func Hint(bs ...key.Binding) string {
	var parts []string
	for _, b := range bs {
		if b.Enabled() {
			parts = append(parts, b.Help().Key+": "+b.Help().Desc)
		}
	}
	return strings.Join(parts, " · ")
}
