package iscsi

import "stowage/model"

// ValidateVGName applies LVM's rules for volume group names; they live in
// model so the pool forms apply the same ones.
func ValidateVGName(s string) error { return model.ValidateVGName(s) }

// ValidatePoolName checks a libvirt pool name as stowage allows it (model's
// rule, shared with the pool forms).
func ValidatePoolName(s string) error { return model.ValidatePoolName(s) }
