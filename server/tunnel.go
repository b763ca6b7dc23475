package server

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"

	"github.com/termcall/termcall/server/proto"
)

// tunnel carries one client websocket of this node to the serving node
// and back, while another node serves the state (cluster.go). It keeps the
// client's liveness itself: pings, read deadlines and the frame size limit.
type tunnel struct {
	s   *Server
	ws  *websocket.Conn
	id  string
	out outbox // frames from the serving node, to the client (outbox.go)

	readerDone chan struct{}
	once       sync.Once
	closeData  []byte // the close frame to send the client; set before the outbox shuts
}

// serveTunnel runs a client's websocket through to the serving node.
func (s *Server) serveTunnel(w http.ResponseWriter, r *http.Request) {
	if !s.leaderNear() {
		refuseNoLeader(w)
		return
	}
	// This node's fds still bound its sockets. It cannot tell a reconnect
	// (the sessions are on the serving node), so it grants every dial the
	// reconnects' share: fd safety, not fairness.
	if refusal := s.fdRefusal(true); refusal != "" {
		s.log.Debug("connection refused", "remote", r.RemoteAddr, "reason", refusal)
		refuse(w, refusal)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.log.Debug("upgrade", "remote", r.RemoteAddr, "err", err)
		return
	}
	t := &tunnel{s: s, ws: ws, id: randomSessionID(), readerDone: make(chan struct{})}
	t.out.onBroken = func() { t.closeWith(nil) }
	t.out.finish = t.finish
	st := s.cl
	st.mu.Lock()
	refused := st.serving || s.isClosed()
	if !refused {
		st.tunnels[t.id] = t // the node's subscription to termcall.out.NODE.* delivers by id
	}
	st.mu.Unlock()
	if refused {
		// Serving now (it took the lease meanwhile) or shutting down: the
		// client redials.
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "retry"), time.Now().Add(writeWait))
		_ = ws.Close()
		return
	}
	s.connWG.Add(2) // the reader, and the writing until finish
	t.out.attach(ws)
	s.pings.add(&t.out)
	if err := t.open(r); err != nil {
		t.closeClient(websocket.CloseTryAgainLater, "serving node unreachable")
	}
	go t.readLoop()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// open tells the serving node of the client, with what its admission needs.
func (t *tunnel) open(r *http.Request) error {
	m := t.msg(tunOpen, nil)
	m.Header.Set(hdrAddr, r.RemoteAddr)
	m.Header.Set(hdrQuery, r.URL.RawQuery)
	return t.s.opts.Cluster.Conn().PublishMsg(m)
}

func (t *tunnel) toServing(op string, data []byte) error {
	return t.s.opts.Cluster.Conn().PublishMsg(t.msg(op, data))
}

func (t *tunnel) msg(op string, data []byte) *nats.Msg {
	m := nats.NewMsg(subjIn)
	m.Header.Set(hdrOp, op)
	m.Header.Set(hdrNode, t.s.opts.Cluster.Node())
	m.Header.Set(hdrConn, t.id)
	m.Data = data
	return m
}

// fromServing takes what the serving node sends this client.
func (t *tunnel) fromServing(m *nats.Msg) {
	switch m.Header.Get(hdrOp) {
	case tunFrame:
		if _, full := t.out.push(m.Data); full {
			t.s.log.Warn("slow consumer dropped", "tunnel", t.id)
			t.closeClient(websocket.ClosePolicyViolation, "slow consumer")
		}
	case tunClose:
		t.closeWith(m.Data)
	}
}

func (t *tunnel) closeClient(code int, text string) {
	t.closeWith(websocket.FormatCloseMessage(code, text))
}

func (t *tunnel) closeWith(data []byte) {
	t.once.Do(func() {
		t.closeData = data
		t.out.shut()
	})
}

func (t *tunnel) readLoop() {
	s := t.s
	defer func() {
		t.closeWith(nil)
		_ = t.toServing(tunClose, nil)
		s.cl.mu.Lock()
		delete(s.cl.tunnels, t.id)
		s.cl.mu.Unlock()
		close(t.readerDone)
		s.connWG.Done()
	}()
	t.ws.SetReadLimit(proto.MaxFrameSize)
	_ = t.ws.SetReadDeadline(time.Now().Add(s.opts.PongWait))
	t.ws.SetPongHandler(func(string) error { return t.ws.SetReadDeadline(time.Now().Add(s.opts.PongWait)) })
	for {
		_, data, err := t.ws.ReadMessage()
		if err != nil {
			if !errors.Is(err, websocket.ErrReadLimit) && !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
				s.log.Debug("tunnel read", "err", err)
			}
			return
		}
		_ = t.ws.SetReadDeadline(time.Now().Add(s.opts.PongWait))
		if err := t.toServing(tunFrame, data); err != nil {
			t.closeClient(websocket.CloseTryAgainLater, "serving node unreachable")
		}
	}
}

// finish ends the tunnel's writing once its outbox is flushed: the close
// frame if there is one, a moment for the client to answer it so that it
// reads ours before the socket goes, then the socket.
func (t *tunnel) finish() {
	s := t.s
	if t.closeData != nil {
		_ = t.ws.WriteControl(websocket.CloseMessage, t.closeData, time.Now().Add(writeWait))
		awaitPeerClose(t.readerDone)
	}
	_ = t.ws.Close()
	s.pings.remove(&t.out)
	s.connWG.Done()
}
