package server

import (
	"errors"

	"github.com/gorilla/websocket"

	"github.com/termcall/termcall/server/proto"
)

// handler handles one request type under the state lock. It validates
// everything before changing anything, so an error leaves no trace. The
// reply (or error) is sent before any push the request causes.
type handler struct {
	auth bool // needs a logged-in connection
	fn   func(t *tx, c *conn, f proto.Frame) (reply any, err *proto.Error)
}

func (s *Server) handlerTable() map[string]handler {
	return map[string]handler{
		proto.TypeLogin:          {fn: s.handleLogin},
		proto.TypePing:           {fn: s.handlePing},
		proto.TypeLogout:         {auth: true, fn: s.handleLogout},
		proto.TypeInvite:         {auth: true, fn: s.handleInvite},
		proto.TypeCancel:         {auth: true, fn: s.handleCancel},
		proto.TypeAccept:         {auth: true, fn: s.handleAccept},
		proto.TypeReject:         {auth: true, fn: s.handleReject},
		proto.TypeHangup:         {auth: true, fn: s.handleHangup},
		proto.TypeSwitchCallType: {auth: true, fn: s.handleSwitchCallType},
		proto.TypeMediaState:     {auth: true, fn: s.handleMediaState},
		proto.TypeRelay:          {auth: true, fn: s.handleRelay},
		proto.TypeWatch:          {auth: true, fn: s.handleWatch},
		proto.TypeSetSelfInfo:    {auth: true, fn: s.handleSetSelfInfo},
	}
}

// receive applies the rate limit and frame checks to one websocket message
// and dispatches it, on a frame worker (workers.go). It runs on the
// connection's reader goroutine, which is also where an ending request
// past its budget waits for a token: the wait holds no worker.
func (s *Server) receive(c *conn, binary bool, data []byte) {
	if !s.awaitLease() {
		return // this node lost the state: the client redials the next
	}
	if f, wait := c.onWorker(frameJob{binary: binary, data: data}); wait {
		if c.waitEndToken() {
			c.onWorker(frameJob{f: f, decoded: true})
		}
	}
}

// check decodes a message and applies the rate limit: it returns the frame
// to dispatch, or ok false when it has been answered (or the connection
// dropped), or wait true for an ending request that must wait for a token
// first.
func (s *Server) check(c *conn, binary bool, data []byte) (f proto.Frame, ok, wait bool) {
	var perr *proto.Error
	if binary {
		perr = errf(proto.CodeMalformed, "binary messages are not accepted")
	} else {
		var err error
		f, err = proto.Decode(data)
		perr = decodeError(err)
	}
	now := s.now()
	switch {
	case perr == nil && ending(f.Type):
		// Counts toward the budget, but is never dropped: when the budget is
		// spent it draws on a small bucket of its own, and past that the
		// reader waits, which slows an abuser down instead of refusing.
		if !c.limiter.allow(now) && !c.endLimiter.allow(now) {
			return f, false, true
		}
	case !c.limiter.allow(now):
		c.rateErrors++
		if c.rateErrors > maxRateErrors {
			s.log.Warn("rate limit: dropping connection", "user", c.userID())
			c.close(websocket.ClosePolicyViolation, "rate limit exceeded")
			return f, false, false
		}
		s.answer(c, proto.TypeError, f.ID, errf(proto.CodeRateLimited, "rate limit exceeded: frame dropped"))
		return f, false, false
	}
	if perr != nil {
		s.answer(c, proto.TypeError, 0, perr)
		return f, false, false
	}
	return f, true, false
}

// ending reports the requests that end something: a call, an invitation,
// the session. A user must always be able to end things, so the rate
// limiter never drops them (protocol.md, Transport).
func ending(typ string) bool {
	switch typ {
	case proto.TypeHangup, proto.TypeLogout, proto.TypeCancel, proto.TypeReject:
		return true
	}
	return false
}

// decodeError maps a proto.Decode error to the error frame it gets.
func decodeError(err error) *proto.Error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, proto.ErrTooLarge):
		return errf(proto.CodeTooLarge, "%v", err)
	default:
		return errf(proto.CodeMalformed, "%v", err)
	}
}

// handleFrame decodes and dispatches one text frame, without the rate
// limit (in-process connections and fuzzing).
func (s *Server) handleFrame(c *conn, data []byte) {
	f, err := proto.Decode(data)
	if perr := decodeError(err); perr != nil {
		s.answer(c, proto.TypeError, 0, perr)
		return
	}
	s.dispatch(c, f)
}

// dispatch runs one decoded frame's handler.
func (s *Server) dispatch(c *conn, f proto.Frame) {
	h, ok := s.handlers[f.Type]
	if !ok {
		s.answer(c, proto.TypeError, f.ID, errf(proto.CodeUnknownType, "unknown frame type %q", f.Type))
		return
	}
	s.apply(func(t *tx) {
		if c.closing() {
			return // logged out or kicked while this frame was in flight
		}
		var reply any
		var perr *proto.Error
		if h.auth && c.sess == nil {
			perr = errNotLoggedIn()
		} else {
			reply, perr = h.fn(t, c, f)
		}
		switch {
		case perr != nil:
			if b := t.encode(proto.TypeError, f.ID, perr); b != nil {
				t.prepend(op{kind: opSend, conn: c, frame: b})
			}
		case f.ID != 0:
			if b := t.encode(proto.TypeReply, f.ID, reply); b != nil {
				t.prepend(op{kind: opSend, conn: c, frame: b})
			}
		}
	})
}

// answer sends one frame that changes no state (errors for frames that
// never reached a handler).
func (s *Server) answer(c *conn, typ string, id uint64, body any) {
	b, err := proto.Encode(typ, id, body)
	if err != nil {
		s.log.Error("encode", "type", typ, "err", err)
		return
	}
	s.outMu.Lock()
	s.deliverLocked(func() { c.Send(b) }, 0, nil) // after what is on its way
}

// decodeBody decodes a request body, mapping failure to bad_request.
func decodeBody(f proto.Frame, v any) *proto.Error {
	if err := proto.DecodeBody(f, v); err != nil {
		return errf(proto.CodeBadRequest, "%v", err)
	}
	return nil
}

func (s *Server) handlePing(_ *tx, _ *conn, _ proto.Frame) (any, *proto.Error) {
	return proto.PingReply{ServerTime: s.now().UnixMilli()}, nil
}
