package server

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/gorilla/websocket"

	"github.com/termcall/termcall/server/proto"
)

// Admission of connections that have not logged in yet (protocol.md,
// Connection limits). Every such connection holds a file descriptor and
// about 56 KiB, and costs nothing to open, so they are bounded three ways:
// a login deadline, a cap per source address and a cap in total. A
// reconnect that names a live session gets a slot in a small reserve that
// the caps do not count, so logged-in users get back in while strangers
// fill the caps.

// pool is where a connection is counted until it logs in.
type pool int

const (
	poolNone    pool = iota // logged in, or never admitted (in-process)
	poolPending             // counted in the total and per-address caps
	poolReserve             // a reserve slot for a session's reconnect
)

const (
	// minReserveSessionID is the shortest sessionID that can claim a
	// reserve slot: shorter ones could be guessed.
	minReserveSessionID = 16
	// retryAfter is the Retry-After of a refusal, in seconds: long enough
	// for login deadlines to free slots, short next to a user's patience.
	retryAfter = 2
)

// addrKey is the source that the per-address cap counts: the IP address,
// or its /64 for IPv6, where one host commonly has a whole /64.
func addrKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil || host == "" {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.WithZone("").Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

// reservable finds the session a dial's resume parameters name: a session
// that is live or within its grace period, with exactly that sessionID.
func (s *Server) reservable(userID, sessionID string) *session {
	if len(sessionID) < minReserveSessionID || len(sessionID) > maxSessionID || !proto.ValidUserID(userID) {
		return nil
	}
	sess := s.sessions[userID]
	if sess == nil || subtle.ConstantTimeCompare([]byte(sess.sessionID), []byte(sessionID)) != 1 {
		return nil
	}
	return sess
}

// admit counts c as a connection waiting to log in, or refuses it with a
// reason. superseded is an older reserve connection of the same session,
// to be closed by the caller once s.mu is released.
func (s *Server) admit(c *conn, r *http.Request) (superseded *conn, refusal string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, "server shutting down"
	}
	q := r.URL.Query()
	sess := s.reservable(q.Get(proto.QueryUserID), q.Get(proto.QuerySessionID))
	if refusal := s.fdRefusal(sess != nil); refusal != "" {
		return nil, refusal
	}
	if sess != nil && s.reserveUsed < s.opts.ReserveConns {
		// One slot per session: a newer reconnect replaces an older one
		// still waiting (its client has given up on it). The older one
		// keeps counting until it has closed, so the reserve bounds fds.
		superseded = s.reserved[sess]
		s.reserved[sess] = c
		s.reserveUsed++
		c.pool, c.reserveFor = poolReserve, sess
		return superseded, ""
	}
	key := addrKey(r.RemoteAddr)
	switch {
	case s.pendingTotal >= s.opts.MaxPending:
		return nil, "too many connections waiting to log in"
	case s.pendingByAddr[key] >= s.opts.MaxPendingPerIP:
		return nil, "too many connections from your address waiting to log in"
	}
	s.pendingTotal++
	s.pendingByAddr[key]++
	c.pool, c.addr = poolPending, key
	return nil, ""
}

// releaseLocked takes c out of its pool: it has logged in or is gone.
func (s *Server) releaseLocked(c *conn) {
	switch c.pool {
	case poolPending:
		s.pendingTotal--
		if s.pendingByAddr[c.addr]--; s.pendingByAddr[c.addr] <= 0 {
			delete(s.pendingByAddr, c.addr)
		}
	case poolReserve:
		s.reserveUsed--
		if s.reserved[c.reserveFor] == c {
			delete(s.reserved, c.reserveFor)
		}
	}
	c.pool, c.addr, c.reserveFor = poolNone, "", nil
	if c.loginTimer != nil {
		c.loginTimer.Stop()
		c.loginTimer = nil
	}
}

func (s *Server) release(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked(c)
}

// refuse answers a dial the caps do not admit, before the upgrade: an
// HTTP error costs no goroutine beyond this request and frees the fd at
// once.
func refuse(w http.ResponseWriter, reason string) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	// Not kept alive: an idle connection would hold the fd the caps
	// just declined to spend.
	w.Header().Set("Connection", "close")
	http.Error(w, reason, http.StatusServiceUnavailable)
}

// loginExpired closes c if it has not logged in by its deadline.
func (s *Server) loginExpired(c *conn) {
	s.apply(func(t *tx) {
		if c.pool == poolNone || c.sess != nil {
			return // logged in meanwhile, or gone
		}
		s.log.Debug("login timeout", "addr", c.addr)
		t.closeConn(c, proto.CloseLoginTimeout, "login timeout")
	})
}

// checkReserveLogin refuses a login on a reserve connection that is not
// the reconnect it was admitted for.
func checkReserveLogin(c *conn, req proto.LoginRequest) *proto.Error {
	if c.pool != poolReserve {
		return nil
	}
	if req.UserID != c.reserveFor.userID || req.SessionID != c.reserveFor.sessionID {
		return errf(proto.CodeBadRequest, "this connection was admitted to resume the session its URL names: log in with that userID and sessionID")
	}
	return nil
}

// closeSuperseded closes an older reserve connection replaced by a newer
// reconnect of the same session.
func closeSuperseded(c *conn) {
	if c != nil {
		c.close(websocket.CloseNormalClosure, "superseded by a newer reconnect")
	}
}
