package server

import (
	"slices"
	"unicode"
	"unicode/utf8"

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

// presence is what watchers see of u: status and, while u has a session,
// the session's setSelfInfo.
func (s *Server) presence(u string) proto.Presence {
	p := proto.Presence{UserID: u, Status: s.status(u)}
	if sess := s.sessions[u]; sess != nil {
		p.NickName, p.Avatar = sess.nickName, sess.avatar
	}
	return p
}

// publishPresence pushes a presence frame to the watchers of every user the
// transaction touched whose presence (status or self info) changed.
func (s *Server) publishPresence(t *tx) {
	if len(t.touched) == 0 {
		return
	}
	users := t.touched
	slices.Sort(users) // a deterministic order for tests and logs
	for _, u := range users {
		p := s.presence(u)
		prev, ok := s.published[u]
		if !ok {
			prev = proto.Presence{UserID: u, Status: proto.PresenceOffline}
		}
		if p == prev {
			continue
		}
		if p.Status == proto.PresenceOffline {
			delete(s.published, u)
		} else {
			s.published[u] = p
		}
		watchers := make([]string, 0, len(s.watchers[u]))
		for w := range s.watchers[u] {
			watchers = append(watchers, w)
		}
		slices.Sort(watchers)
		t.pushAll(watchers, proto.TypePresence, p)
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
		reply.Presence = append(reply.Presence, s.presence(u))
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

// handleSetSelfInfo sets how the user is shown to others: presence pushes
// and replies, and the invitations they send from now on.
func (s *Server) handleSetSelfInfo(t *tx, c *conn, f proto.Frame) (any, *proto.Error) {
	// encoding/json turns invalid UTF-8 into U+FFFD without an error, so
	// the raw body is checked before decoding.
	if !utf8.Valid(f.Body) {
		return nil, errf(proto.CodeBadRequest, "setSelfInfo body is not valid UTF-8")
	}
	var req proto.SelfInfo
	if perr := decodeBody(f, &req); perr != nil {
		return nil, perr
	}
	if perr := checkShownText("nickName", req.NickName, proto.MaxNickName); perr != nil {
		return nil, perr
	}
	if perr := checkShownText("avatar", req.Avatar, proto.MaxAvatar); perr != nil {
		return nil, perr
	}
	c.sess.nickName, c.sess.avatar = req.NickName, req.Avatar
	t.saveSession(c.sess.userID)
	t.touch(c.sess.userID) // watchers get a presence push if it changed
	return struct{}{}, nil
}

// checkShownText validates text that other users' terminals will print:
// at most limit bytes of UTF-8 without control characters, line
// separators or bidi controls (which could rearrange a terminal line).
// U+FFFD is refused as well: it is what broken escapes decode to.
func checkShownText(field, v string, limit int) *proto.Error {
	if len(v) > limit {
		return errf(proto.CodeBadRequest, "%s is %d bytes, at most %d", field, len(v), limit)
	}
	for _, r := range v {
		switch {
		case r == utf8.RuneError:
			return errf(proto.CodeBadRequest, "%s is not valid UTF-8", field)
		case unicode.IsControl(r), unicode.In(r, unicode.Zl, unicode.Zp),
			r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
			return errf(proto.CodeBadRequest, "%s contains control character %U", field, r)
		}
	}
	return nil
}
