package server

import (
	"context"
	"slices"

	"github.com/termcall/termcall/server/proto"
)

type opKind int

const (
	opSend   opKind = iota + 1 // frame to a connection
	opPush                     // frame to a user, through the router
	opBind                     // router: user -> conn
	opUnbind                   // router: forget user -> conn
	opClose                    // close a connection
)

type op struct {
	kind  opKind
	conn  *conn
	user  string
	frame []byte
	code  int
	text  string
}

// tx collects the effects of one state change. It is built under s.mu and
// carried out after s.mu is released (apply), so that no connection is ever
// touched while the state lock is held.
type tx struct {
	s   *Server
	ops []op
	// Users whose presence may have changed, and the state records changed
	// (durable.go): a handful each, so slices, not maps (a map per
	// transaction was 5 % of the server's allocations at 4,000 invites/s).
	touched []string
	saves   []string
	then    []func() // run after the frames are handed out, without locks
}

// apply runs fn under the state lock, then delivers what it produced.
// Deliveries happen in transaction order, and a transaction's records are
// stored before anyone hears of it. Storing is pipelined: the records
// leave for the store in order under outMu, then each transaction waits
// for its own acknowledgements without a lock and for its turn in the
// delivery line (the previous transaction's frames). Many transactions'
// writes are on their way at once, so the store's round trip bounds the
// latency of one, not the rate of all (issue 14: awaited under outMu, it
// serialised every state change behind it).
func (s *Server) apply(fn func(t *tx)) {
	t := &tx{s: s}
	s.mu.Lock()
	fn(t)
	s.publishPresence(t)
	writes := s.writesLocked(t)
	s.outMu.Lock()
	s.mu.Unlock()
	var wait func(context.Context) error
	if len(writes) > 0 {
		wait = s.opts.State.Publish(writes)
	}
	s.deliverLocked(t.run, len(writes), wait)
	for _, fn := range t.then {
		fn()
	}
}

// deliverLocked runs deliver in its turn, once wait (if any) has said
// that the n records it delivers news of are stored. It is called with
// outMu held, taken under mu, and releases it.
func (s *Server) deliverLocked(deliver func(), n int, wait func(context.Context) error) {
	prev := s.lastTurn
	if wait == nil && closed(prev) {
		// Nothing on its way before this: deliver at once.
		defer s.outMu.Unlock()
		deliver()
		return
	}
	mine := make(chan struct{})
	s.lastTurn = mine
	s.outMu.Unlock()
	stored := wait == nil || s.awaitStored(n, wait)
	<-prev
	if stored {
		deliver()
	}
	close(mine)
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// afterwards runs fn once this transaction's frames are out: a follow-up
// transaction whose frames must come after them.
func (t *tx) afterwards(fn func()) { t.then = append(t.then, fn) }

func (t *tx) run() {
	r := t.s.router
	for _, o := range t.ops {
		switch o.kind {
		case opSend:
			o.conn.Send(o.frame)
		case opPush:
			r.Deliver(o.user, o.frame)
		case opBind:
			r.Bind(o.user, o.conn)
		case opUnbind:
			r.Unbind(o.user, o.conn)
		case opClose:
			o.conn.close(o.code, o.text)
		}
	}
}

func (t *tx) encode(typ string, id uint64, body any) []byte {
	b, err := proto.Encode(typ, id, body)
	if err != nil {
		// Only our own types are encoded here: this is a bug, not input.
		t.s.log.Error("encode", "type", typ, "err", err)
		return nil
	}
	return b
}

// sendConn queues a frame for one connection.
func (t *tx) sendConn(c *conn, typ string, id uint64, body any) {
	if b := t.encode(typ, id, body); b != nil {
		t.ops = append(t.ops, op{kind: opSend, conn: c, frame: b})
	}
}

// push queues a frame for a user's live connection; users without one
// (offline, or disconnected within the grace period) miss it.
func (t *tx) push(user, typ string, body any) {
	sess := t.s.sessions[user]
	if sess == nil || sess.conn == nil {
		return
	}
	if b := t.encode(typ, 0, body); b != nil {
		t.ops = append(t.ops, op{kind: opPush, user: user, frame: b})
	}
}

func (t *tx) pushAll(users []string, typ string, body any) {
	for _, u := range users {
		t.push(u, typ, body)
	}
}

func (t *tx) bind(user string, c *conn) {
	t.ops = append(t.ops, op{kind: opBind, user: user, conn: c})
}

func (t *tx) unbind(user string, c *conn) {
	t.ops = append(t.ops, op{kind: opUnbind, user: user, conn: c})
}

func (t *tx) closeConn(c *conn, code int, text string) {
	t.ops = append(t.ops, op{kind: opClose, conn: c, code: code, text: text})
}

// touch marks a user whose presence may have changed.
func (t *tx) touch(user string) {
	if !slices.Contains(t.touched, user) {
		t.touched = append(t.touched, user)
	}
}

// prepend puts the answer to the request first: a reply precedes the pushes
// the request caused (protocol.md, Invitations).
func (t *tx) prepend(o op) {
	t.ops = append([]op{o}, t.ops...)
}
