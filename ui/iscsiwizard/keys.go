package iscsiwizard

import "stowage/ui/keys"

// KeyMap is the wizard's bindings: the keymap's ISCSI scope (remapped by
// config.yaml like every other). Model.updateKeys enables the ones that
// apply to the current stage, so dispatch, hints and `?` agree.
type KeyMap = keys.ISCSIKeys

// DefaultKeyMap is the default keymap's ISCSI bindings, for callers that
// have no console keymap.
func DefaultKeyMap() KeyMap { return keys.Default().ISCSI }
