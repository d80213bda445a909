package model

// StreamOptions tune one streamed refresh of a host (its pools, volumes,
// domains and secrets, sent part by part).
type StreamOptions struct {
	// KeepVolumes, when it returns true for a pool, skips re-reading that
	// pool's volume XML (the caller keeps what it has): the poll uses it for
	// pools whose sizes and volume names did not change.
	KeepVolumes func(p Pool, names []string) bool
	// DomainsOnly reads the domains and nothing else (after a domain
	// lifecycle event).
	DomainsOnly bool
}

// Object names something the console can describe (show the XML of).
type Object struct {
	// Kind is host, pool, volume, domain or secret.
	Kind string
	Pool string
	// Name is the pool, volume or domain name, or the secret's UUID.
	Name string
}
