package iscsi

import "stowage/model"

// NameType is the kind of an iSCSI name (RFC 3720 §3.2.6.3, RFC 3980).
type NameType = model.ISCSINameType

// The three iSCSI name formats.
const (
	IQN = model.ISCSIIQN
	EUI = model.ISCSIEUI
	NAA = model.ISCSINAA
)

// MaxNameLen is the longest iSCSI name, in bytes (RFC 3720 §3.2.6.1).
const MaxNameLen = model.MaxISCSINameLen

// ValidateName checks an iSCSI name and returns its type. The rules live
// in model (ValidateISCSIName) so the pool forms apply the same ones.
func ValidateName(s string) (NameType, error) { return model.ValidateISCSIName(s) }
