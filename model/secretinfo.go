package model

// SecretInfo is a secret with what stowage knows about its value and
// whether anything still uses it.
type SecretInfo struct {
	Secret
	Value SecretValueState `json:"value"`
	// Orphan, when set, says why nothing uses the secret any more (its
	// volume is gone).
	Orphan string `json:"orphan,omitempty"`
}

// SecretValueState says what stowage could learn about a secret's value
// without keeping it.
type SecretValueState string

// How a secret's value was found. libvirt refuses SecretGetValue on every
// private secret ("secret is private", VIR_ERR_INVALID_SECRET) before it
// looks at the value, so for private secrets (all that stowage creates) the
// value's presence cannot be told through the API: they are reported as
// ValuePrivate, never guessed. A non-private secret without a value fails
// with VIR_ERR_NO_SECRET ("does not have a value"): ValueUnset. The bytes
// of a readable value are dropped at once and never stored or logged.
const (
	ValueSet     SecretValueState = "set"
	ValueUnset   SecretValueState = "unset"
	ValuePrivate SecretValueState = "private"
)

// SecretPrivate is the volume-side state for a present, private secret
// whose value cannot be read back (see ValuePrivate).
const SecretPrivate SecretState = "present-private"

// SecretUnknown is the volume-side state on a host that has no secret API
// at all (libvirt's test driver): nothing can be said about the secret.
const SecretUnknown SecretState = "unknown"
