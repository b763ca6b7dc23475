package callcore

import "github.com/termcall/termcall/server/proto"

// PresenceStatus is a user's presence as the server reports it. It is a
// string in JSON (PRESENCE's status).
type PresenceStatus string

// Presence statuses.
const (
	PresenceOnline  PresenceStatus = proto.PresenceOnline
	PresenceBusy    PresenceStatus = proto.PresenceBusy // ringing or in a call
	PresenceOffline PresenceStatus = proto.PresenceOffline
)

// String returns the status as it appears on the wire.
func (s PresenceStatus) String() string { return string(s) }
