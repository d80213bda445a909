// Package keys holds the console's key bindings as data: one key.Binding
// per action, named so users can remap them in config.yaml (`keys:`).
// Components enable or disable bindings from their state, so dispatch and
// the `?` help always agree. It imports bubbles/key only.
package keys

import (
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
)

// Map is every action's binding. Field names are documentation; the
// action names users remap are the keys of Map.Named.
type Map struct {
	Up, Down, PageUp, PageDown, Top, Bottom       key.Binding
	Enter, Back, Describe, Filter, Sort, SortDesc key.Binding
	Palette, Help, Refresh, Quit                  key.Binding
	Hosts, Pools, Volumes, VMs, Secrets           key.Binding
	CreateDrive, AttachDrive, DeleteDrive         key.Binding
	DetachDrive, LVMOnISCSI                       key.Binding
	NewDirPool, NewRBDPool, Trust                 key.Binding
}

// Default is the k9s/lazygit-style keymap.
func Default() Map {
	b := func(help string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(keys[0], help))
	}
	return Map{
		Up:          b("up", "up", "k"),
		Down:        b("down", "down", "j"),
		PageUp:      b("page up", "pgup", "ctrl+b"),
		PageDown:    b("page down", "pgdown", "ctrl+f"),
		Top:         b("top", "home", "g"),
		Bottom:      b("bottom", "end", "G"),
		Enter:       b("open", "enter"),
		Back:        b("back", "esc"),
		Describe:    b("describe (XML, virsh)", "d"),
		Filter:      b("filter", "/"),
		Sort:        b("sort by next column", "s"),
		SortDesc:    b("reverse sort", "S"),
		Palette:     b("command palette", ":"),
		Help:        b("help", "?"),
		Refresh:     b("refresh", "r", "ctrl+r"),
		Quit:        b("quit", "q", "ctrl+c"),
		Hosts:       b("hosts", "1"),
		Pools:       b("pools", "2"),
		Volumes:     b("volumes", "3"),
		VMs:         b("VMs", "4"),
		Secrets:     b("secrets", "5"),
		CreateDrive: b("create drive", "c"),
		AttachDrive: b("attach drive", "a"),
		DeleteDrive: b("delete drive ⚠", "ctrl+d"),
		DetachDrive: b("detach drive ⚠", "x"),
		LVMOnISCSI:  b("LVM-on-iSCSI wizard", "L"),
		NewDirPool:  b("new dir pool", "n"),
		NewRBDPool:  b("new rbd pool", "b"),
		Trust:       b("trust host key", "y"),
	}
}

// Named maps each action name (as written in config.yaml) to its binding.
func (m *Map) Named() map[string]*key.Binding {
	return map[string]*key.Binding{
		"up": &m.Up, "down": &m.Down, "page_up": &m.PageUp, "page_down": &m.PageDown,
		"top": &m.Top, "bottom": &m.Bottom, "enter": &m.Enter, "back": &m.Back,
		"describe": &m.Describe, "filter": &m.Filter, "sort": &m.Sort, "sort_desc": &m.SortDesc,
		"palette": &m.Palette, "help": &m.Help, "refresh": &m.Refresh, "quit": &m.Quit,
		"hosts": &m.Hosts, "pools": &m.Pools, "volumes": &m.Volumes, "vms": &m.VMs, "secrets": &m.Secrets,
		"create_drive": &m.CreateDrive, "attach_drive": &m.AttachDrive, "delete_drive": &m.DeleteDrive,
		"detach_drive": &m.DetachDrive, "lvm_on_iscsi": &m.LVMOnISCSI,
		"new_dir_pool": &m.NewDirPool, "new_rbd_pool": &m.NewRBDPool, "trust_host_key": &m.Trust,
	}
}

// Remap applies config.yaml's `keys:` (action name → keys). An unknown
// action or an empty key list is an error naming the valid actions.
func (m *Map) Remap(remap map[string][]string) error {
	named := m.Named()
	for action, ks := range remap {
		b, ok := named[action]
		if !ok {
			var names []string
			for n := range named {
				names = append(names, n)
			}
			sort.Strings(names)
			return fmt.Errorf("keys: unknown action %q (actions: %s)", action, strings.Join(names, ", "))
		}
		if len(ks) == 0 {
			return fmt.Errorf("keys: action %q has no keys", action)
		}
		b.SetKeys(ks...)
		b.SetHelp(ks[0], b.Help().Desc)
	}
	return nil
}

// Enable returns b enabled or disabled: components call it from their
// state before dispatch and help.
func Enable(b key.Binding, on bool) key.Binding {
	b.SetEnabled(on)
	return b
}
