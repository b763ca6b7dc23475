package server

import (
	"slices"

	"github.com/termcall/termcall/server/proto"
)

// status is a user's presence: offline without a session, busy while
// ringing or in a call, online otherwise.
func (s *Server) status(u string) string {
	if s.sessions[u] == nil {
		return proto.PresenceOffline
	}
	if s.ringing[u] != nil || s.inRoom[u] != nil {
		return proto.PresenceBusy
	}
	return proto.PresenceOnline
}

// publishPresence pushes a presence frame to the watchers of every user the
// transaction touched whose status changed.
func (s *Server) publishPresence(t *tx) {
	if len(t.touched) == 0 {
		return
	}
	users := make([]string, 0, len(t.touched))
	for u := range t.touched {
		users = append(users, u)
	}
	slices.Sort(users) // a deterministic order for tests and logs
	for _, u := range users {
		st := s.status(u)
		prev, ok := s.published[u]
		if !ok {
			prev = proto.PresenceOffline
		}
		if st == prev {
			continue
		}
		if st == proto.PresenceOffline {
			delete(s.published, u)
		} else {
			s.published[u] = st
		}
		watchers := make([]string, 0, len(s.watchers[u]))
		for w := range s.watchers[u] {
			watchers = append(watchers, w)
		}
		slices.Sort(watchers)
		t.pushAll(watchers, proto.TypePresence, proto.Presence{UserID: u, Status: st})
	}
}

func (s *Server) handleWatch(_ *tx, c *conn, f proto.Frame) (any, *proto.Error) {
	var req proto.WatchRequest
	if perr := decodeBody(f, &req); perr != nil {
		return nil, perr
	}
	if len(req.Users) > proto.MaxWatch {
		return nil, errf(proto.CodeBadRequest, "at most %d users can be watched", proto.MaxWatch)
	}
	users := make([]string, 0, len(req.Users))
	seen := make(map[string]bool, len(req.Users))
	for _, u := range req.Users {
		if !proto.ValidUserID(u) {
			return nil, errf(proto.CodeBadRequest, "invalid userID %q in watch list", u)
		}
		if !seen[u] {
			seen[u] = true
			users = append(users, u)
		}
	}
	w := c.sess.userID
	s.unwatchAll(w)
	reply := proto.WatchReply{Presence: make([]proto.Presence, 0, len(users))}
	for _, u := range users {
		if s.watchers[u] == nil {
			s.watchers[u] = make(map[string]struct{})
		}
		s.watchers[u][w] = struct{}{}
		reply.Presence = append(reply.Presence, proto.Presence{UserID: u, Status: s.status(u)})
	}
	if len(users) > 0 {
		s.watching[w] = users
	}
	return reply, nil
}

// unwatchAll drops every subscription of watcher w.
func (s *Server) unwatchAll(w string) {
	for _, u := range s.watching[w] {
		delete(s.watchers[u], w)
		if len(s.watchers[u]) == 0 {
			delete(s.watchers, u)
		}
	}
	delete(s.watching, w)
}
