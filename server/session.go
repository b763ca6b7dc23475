package server

import (
	"crypto/rand"
	"encoding/hex"
	"slices"

	"github.com/gorilla/websocket"

	"github.com/termcall/termcall/server/proto"
)

// session is a user's login. It outlives its connection by the grace
// period, so that a client that reconnects with the same sessionID resumes
// where it was.
type session struct {
	userID    string
	sessionID string
	conn      *conn // nil while disconnected within the grace period
	grace     Timer // runs while conn is nil
	// setSelfInfo: kept here so that it survives a resume and ends with
	// the session.
	nickName, avatar string
}

func (ss *session) stopGrace() {
	if ss.grace != nil {
		ss.grace.Stop()
		ss.grace = nil
	}
}

// randomID returns 16 random hex digits.
func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// randomSessionID returns 128 random bits in hex: a sessionID also admits
// a reconnect to the reserve (admit.go), so it must not be guessable.
func randomSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) handleLogin(t *tx, c *conn, f proto.Frame) (any, *proto.Error) {
	if c.sess != nil {
		return nil, errf(proto.CodeAlreadyLoggedIn, "this connection is logged in as %s", c.sess.userID)
	}
	var req proto.LoginRequest
	if perr := decodeBody(f, &req); perr != nil {
		return nil, perr
	}
	if len(req.SessionID) > maxSessionID {
		return nil, errf(proto.CodeBadRequest, "sessionID longer than %d bytes", maxSessionID)
	}
	if perr := checkReserveLogin(c, req); perr != nil {
		return nil, perr
	}
	now := s.now()
	if perr := s.verifyLogin(req, now); perr != nil {
		return nil, perr
	}
	u := req.UserID
	sid := req.SessionID
	if sid == "" {
		sid = randomSessionID()
	}
	resumed := false
	if old := s.sessions[u]; old != nil {
		if old.sessionID == sid {
			resumed = true
			old.stopGrace()
			if old.conn != nil && old.conn != c {
				// The client reconnected before the old socket was seen to drop.
				old.conn.sess = nil
				t.unbind(u, old.conn)
				t.closeConn(old.conn, websocket.CloseNormalClosure, "session resumed elsewhere")
			}
			old.conn = c
			c.sess = old
		} else {
			s.kick(t, old)
		}
	}
	if !resumed {
		sess := &session{userID: u, sessionID: sid, conn: c}
		s.sessions[u] = sess
		c.sess = sess
		t.saveSession(u)
	}
	s.releaseLocked(c) // logged in: no longer counted against the admission caps
	t.bind(u, c)
	t.touch(u)
	c.name.Store(&u)
	reply := proto.LoginReply{
		UserID:     u,
		SessionID:  sid,
		Resumed:    resumed,
		ServerTime: now.UnixMilli(),
		ICEServers: s.opts.ICEServers,
	}
	if s.turn != nil {
		reply.ICEServers = append(slices.Clone(s.opts.ICEServers), s.turn.ICEServer(u))
	}
	if r := s.inRoom[u]; r != nil && resumed {
		st := r.state()
		reply.Room = &st
	}
	// Invitations still ringing (sent while offline, or before a kick or
	// reconnect) are delivered after the reply.
	if inv := s.ringing[u]; inv != nil {
		t.push(u, proto.TypeInvited, inv.invitedBody())
	}
	if resumed {
		s.dueOnResumeLocked(t, u)
	}
	s.log.Info("login", "user", u, "resumed", resumed)
	return reply, nil
}

// kick ends an older session for a new login with another sessionID.
func (s *Server) kick(t *tx, old *session) {
	if old.conn != nil {
		t.sendConn(old.conn, proto.TypeKicked, 0, proto.Kicked{Reason: proto.ReasonMultiLogin})
		t.unbind(old.userID, old.conn)
		t.closeConn(old.conn, websocket.CloseNormalClosure, proto.ReasonMultiLogin)
		old.conn.sess = nil
		old.conn = nil
	}
	s.log.Info("session kicked", "user", old.userID)
	s.endSession(t, old, proto.ReasonKicked)
}

func (s *Server) handleLogout(t *tx, c *conn, _ proto.Frame) (any, *proto.Error) {
	sess := c.sess
	u := sess.userID
	// Leave while the session is live so the user still gets callEnded.
	if r := s.inRoom[u]; r != nil {
		s.leave(t, r, u, proto.ReasonLogout)
	}
	s.endSession(t, sess, proto.ReasonLogout)
	t.unbind(u, c)
	c.sess = nil
	t.closeConn(c, websocket.CloseNormalClosure, proto.ReasonLogout)
	s.log.Info("logout", "user", u)
	return struct{}{}, nil
}

// endSession forgets a session: the user leaves their call and goes
// offline. Invitations ringing for them stay until they time out.
func (s *Server) endSession(t *tx, sess *session, reason string) {
	sess.stopGrace()
	if s.sessions[sess.userID] == sess {
		delete(s.sessions, sess.userID)
		t.saveSession(sess.userID)
	}
	if r := s.inRoom[sess.userID]; r != nil {
		s.leave(t, r, sess.userID, reason)
	}
	s.unwatchAll(sess.userID)
	t.touch(sess.userID)
}

// connGone runs when a connection's reader ends. A logged-in session starts
// its grace period.
func (s *Server) connGone(c *conn) {
	s.apply(func(t *tx) {
		s.releaseLocked(c)
		sess := c.sess
		c.sess = nil
		if sess == nil || s.sessions[sess.userID] != sess || sess.conn != c {
			return
		}
		sess.conn = nil
		t.unbind(sess.userID, c)
		if s.closed {
			return
		}
		s.log.Info("connection lost", "user", sess.userID, "grace", s.opts.Grace)
		sess.grace = s.afterFunc(s.opts.Grace, func() { s.graceExpired(sess) })
	})
}

func (s *Server) graceExpired(sess *session) {
	s.apply(func(t *tx) {
		if s.sessions[sess.userID] != sess || sess.conn != nil {
			return // resumed or replaced meanwhile
		}
		sess.grace = nil
		s.log.Info("session expired", "user", sess.userID)
		s.endSession(t, sess, proto.ReasonDisconnected)
	})
}
