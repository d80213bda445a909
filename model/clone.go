package model

import "fmt"

// The steps of a drive clone (see CreatePlan for the shared ones:
// StepCreateSecret, StepVerify).
const (
	// StepCloneVolume: libvirt copies the volume (virStorageVolCreateXMLFrom;
	// for QEMU-layer LUKS, qemu-img convert decrypting with the source's
	// secret and encrypting with the clone's).
	StepCloneVolume StepID = "clone-volume"
	// StepRBDSnapshot: a protected snapshot of the source image, the parent
	// of an RBD clone.
	StepRBDSnapshot StepID = "rbd-snapshot"
	// StepRBDClone: a copy-on-write child of that snapshot.
	StepRBDClone StepID = "rbd-clone"
	// StepRBDCopy: a deep copy of the source image (librbd).
	StepRBDCopy StepID = "rbd-copy"
	// StepRBDReader: a temporary copy-on-write child of the snapshot,
	// without fast-diff, that the re-encrypting copy reads (QEMU 7.2's
	// rbd block status on a librbd-encrypted image with fast-diff reports
	// data past the header's size as zeros: a copy would lose it).
	StepRBDReader StepID = "rbd-reader"
	// StepReencrypt: the decrypted data copied into the new image, which
	// librbd encrypts with the clone's own passphrase.
	StepReencrypt StepID = "reencrypt"
	// StepRemoveReader: the temporary child and the snapshot removed.
	StepRemoveReader StepID = "remove-reader"
)

// RBDCloneMethod is how a plain RBD image is cloned.
type RBDCloneMethod string

// The two ways: a full, independent copy (the default), or a
// copy-on-write child of a protected snapshot of the source.
const (
	RBDMethodCopy  RBDCloneMethod = "copy"
	RBDMethodClone RBDCloneMethod = "clone"
)

// ParseRBDCloneMethod reads --rbd-method; empty is copy.
func ParseRBDCloneMethod(s string) (RBDCloneMethod, error) {
	switch RBDCloneMethod(s) {
	case "", RBDMethodCopy:
		return RBDMethodCopy, nil
	case RBDMethodClone:
		return RBDMethodClone, nil
	}
	return "", fmt.Errorf("rbd method %q: use copy (a full, independent copy) or clone (copy-on-write child of a protected snapshot)", s)
}

// CloneSpec is a clone the admin asked for: pool/name copied to
// ToPool/To on the same host.
type CloneSpec struct {
	Pool, Name string
	// ToPool is the target pool; empty means Pool.
	ToPool string
	To     string
	// RBDMethod applies to plain RBD images only.
	RBDMethod RBDCloneMethod
}

// Target is the clone's pool (ToPool, else the source's).
func (c CloneSpec) Target() string {
	if c.ToPool != "" {
		return c.ToPool
	}
	return c.Pool
}

// CloneKind is how a drive is cloned, decided from what it is.
type CloneKind string

// The kinds of clone.
const (
	// CloneLibvirt: a plain volume, copied by libvirt.
	CloneLibvirt CloneKind = "libvirt"
	// CloneQEMULUKS: a QEMU-layer LUKS volume, re-encrypted by libvirt
	// (qemu-img convert) under a new secret.
	CloneQEMULUKS CloneKind = "qemu-luks"
	// CloneRBDCopy and CloneRBDSnapshot: a plain RBD image.
	CloneRBDCopy     CloneKind = "rbd-copy"
	CloneRBDSnapshot CloneKind = "rbd-clone"
	// CloneLibrbdLUKS: a librbd-encrypted image, re-encrypted into a new
	// image formatted with the clone's own passphrase.
	CloneLibrbdLUKS CloneKind = "librbd-luks"
)

// ClonePlan lists the steps of a clone of that kind to name; format is
// the LUKS version (luks1, luks2) of a librbd-encrypted source.
func ClonePlan(kind CloneKind, name string, format ...string) []Step {
	var steps []Step
	switch kind {
	case CloneLibrbdLUKS:
		f := "luks2"
		if len(format) > 0 && format[0] != "" {
			f = format[0]
		}
		steps = append(steps,
			Step{ID: StepCreateSecret, Title: "create the clone's own secret (private, new random passphrase)"},
			Step{ID: StepCreateVolume, Title: "create RBD image " + name},
			Step{ID: StepFormatLUKS, Title: fmt.Sprintf("format %s (librbd) with the new passphrase", f)},
			Step{ID: StepRBDSnapshot, Title: "protected snapshot of the source image"},
			Step{ID: StepRBDReader, Title: "temporary reader of the snapshot (copy-on-write child)"},
			Step{ID: StepReencrypt, Title: "copy the decrypted data into " + name + " (paused helper domain, librbd on both sides)", Measurable: true},
			Step{ID: StepRemoveReader, Title: "remove the temporary reader and the snapshot"})
	case CloneQEMULUKS:
		steps = append(steps,
			Step{ID: StepCreateSecret, Title: "create the clone's own secret (private, new random passphrase)"},
			Step{ID: StepCloneVolume, Title: "copy to " + name + ", re-encrypted with the new secret (qemu-img convert)", Measurable: true})
	case CloneRBDCopy:
		steps = append(steps, Step{ID: StepRBDCopy, Title: "deep-copy the RBD image to " + name})
	case CloneRBDSnapshot:
		steps = append(steps,
			Step{ID: StepRBDSnapshot, Title: "protected snapshot of the source image"},
			Step{ID: StepRBDClone, Title: "clone " + name + " from the snapshot (copy-on-write)"})
	default:
		steps = append(steps, Step{ID: StepCloneVolume, Title: "copy to " + name, Measurable: true})
	}
	return append(steps, Step{ID: StepVerify, Title: "verify"})
}

// CloneSnapshotName is the name of the snapshot an RBD clone hangs from:
// it names the child, so `rbd snap ls` tells an admin why it is there.
func CloneSnapshotName(child string) string { return "stowage-clone-" + child }

// CloneReaderName is the temporary child a re-encrypting clone reads.
func CloneReaderName(child string) string { return "stowage-clone-reader-" + child }
