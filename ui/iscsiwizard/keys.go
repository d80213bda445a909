package iscsiwizard

import "charm.land/bubbles/v2/key"

// KeyMap is the wizard's bindings; Model.updateKeys enables the ones that
// apply to the current stage, so dispatch and `?` agree.
type KeyMap struct {
	Next, Back, Up, Down, Toggle, Field, XML, CreateDrive key.Binding
}

// DefaultKeyMap is the wizard's default bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Next:        key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next")),
		Back:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back / close")),
		Up:          key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:        key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Toggle:      key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "pick LUN")),
		Field:       key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next field")),
		XML:         key.NewBinding(key.WithKeys("ctrl+x"), key.WithHelp("ctrl+x", "XML / virsh")),
		CreateDrive: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "create first drive")),
	}
}
