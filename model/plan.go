package model

import "fmt"

// StepID names one step of a drive workflow.
type StepID string

// The steps a drive workflow is made of.
const (
	StepCreateSecret StepID = "create-secret"
	StepCreateVolume StepID = "create-volume"
	StepFormatLUKS   StepID = "format-luks"
	StepAttach       StepID = "attach"
	StepVerify       StepID = "verify"
	StepDetach       StepID = "detach"
	StepDeleteVolume StepID = "delete-volume"
	StepDeleteSecret StepID = "delete-secret"
)

// Step is one line of a plan: what it does, and whether its progress can
// be measured (a bar) or only timed (a spinner).
type Step struct {
	ID         StepID `json:"id"`
	Title      string `json:"title"`
	Measurable bool   `json:"measurable"`
	// Irreversible: no undo exists (a grown drive is never shrunk back);
	// a failure after it reports the state instead of rolling back.
	Irreversible bool `json:"irreversible,omitempty"`
}

// CreatePlan lists the steps that create spec, in order. Rolling back
// undoes the finished ones in reverse.
func CreatePlan(s DriveSpec) []Step {
	var steps []Step
	if s.Encrypted() {
		steps = append(steps, Step{ID: StepCreateSecret, Title: "create secret (private, random passphrase)"})
	}
	switch {
	case s.PoolType == PoolRBD:
		steps = append(steps, Step{ID: StepCreateVolume, Title: "create RBD image " + s.Name})
		if f := s.LibrbdFormat(); f != "" {
			steps = append(steps, Step{ID: StepFormatLUKS, Title: fmt.Sprintf("format %s (librbd)", f)})
		}
	case s.Encrypted():
		// libvirt formats QEMU-layer LUKS while it creates the volume:
		// qemu-img writes the header, and allocation grows while it does.
		steps = append(steps, Step{ID: StepCreateVolume, Title: "create volume " + s.Name + " and format LUKS (qemu-img)", Measurable: true})
	default:
		steps = append(steps, Step{ID: StepCreateVolume, Title: "create volume " + s.Name, Measurable: true})
	}
	if s.AttachVM != "" && (s.Attach.Live || s.Attach.Persistent) {
		steps = append(steps, Step{ID: StepAttach, Title: fmt.Sprintf("attach to %s (%s)", s.AttachVM, s.Attach)})
	}
	return append(steps, Step{ID: StepVerify, Title: "verify"})
}

// DeletePlan lists the steps that delete a drive: its volume or image,
// then its secret (when it has one).
func DeletePlan(hasSecret bool) []Step {
	steps := []Step{{ID: StepDeleteVolume, Title: "delete volume"}}
	if hasSecret {
		steps = append(steps, Step{ID: StepDeleteSecret, Title: "undefine secret"})
	}
	return steps
}
