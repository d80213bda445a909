package model

import "time"

// HostState is how a host is doing, as the console shows it.
type HostState string

// Host states.
const (
	StateConnecting   HostState = "connecting"
	StateConnected    HostState = "connected"
	StateDegraded     HostState = "degraded"
	StateDisconnected HostState = "disconnected"
)

// Status is a snapshot of a Session.
type Status struct {
	State HostState
	// Reason is why the host is degraded or disconnected.
	Reason string
	// NextRetry is when the next dial may happen (disconnected only).
	NextRetry time.Time
	// Err is the last dial error, for callers that inspect its type
	// (an unknown SSH host key, say).
	Err error
}
