package callcore

// State is the engine's call state, mirrored from the server.
type State int

// States. The zero value is StateUnknown; an engine always reports one of
// the others.
const (
	StateUnknown State = iota
	// StateIdle: no call and no invitation ringing.
	StateIdle
	// StateDialing: in a call room as the inviter, nobody else has joined.
	StateDialing
	// StateRinging: an incoming invitation is pending, not in a call.
	StateRinging
	// StateConnected: in a call with at least one other member.
	StateConnected
)

// String returns the state's lower-case name.
func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateDialing:
		return "dialing"
	case StateRinging:
		return "ringing"
	case StateConnected:
		return "connected"
	default:
		return "unknown"
	}
}
