package callcore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/termcall/termcall/server/proto"
)

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

// WatchPresence follows the presence of users (replacing any earlier
// list) and returns their current state. Changes arrive as PRESENCE events.
func (e *Engine) WatchPresence(ctx context.Context, users []string) ([]Presence, error) {
	if len(users) > proto.MaxWatch {
		return nil, fmt.Errorf("%w: at most %d users", ErrInvalidArgument, proto.MaxWatch)
	}
	for _, u := range users {
		if !proto.ValidUserID(u) {
			return nil, fmt.Errorf("%w: user ID %q", ErrInvalidArgument, u)
		}
	}
	c, err := e.client()
	if err != nil {
		return nil, err
	}
	var out []Presence
	err = c.Request(ctx, proto.TypeWatch, proto.WatchRequest{Users: users}, func(body json.RawMessage) (err error) {
		out, err = decodePresence(body)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("watch presence: %w", err)
	}
	e.mu.Lock()
	e.watching = slices.Clone(users)
	e.mu.Unlock()
	return out, nil
}

// decodePresence reads a watch reply.
func decodePresence(body json.RawMessage) ([]Presence, error) {
	var rep proto.WatchReply
	if err := decode(body, &rep); err != nil {
		return nil, err
	}
	out := make([]Presence, 0, len(rep.Presence))
	for _, p := range rep.Presence {
		out = append(out, presenceOf(p))
	}
	return out, nil
}

func presenceOf(p proto.Presence) Presence {
	return Presence{UserID: p.UserID, Status: PresenceStatus(p.Status), NickName: p.NickName, Avatar: p.Avatar}
}
