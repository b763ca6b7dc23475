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
	sub *nats.Subscription

	out        chan []byte // frames from the serving node, for the writer
	done       chan struct{}
	readerDone chan struct{}
	once       sync.Once
	closeData  []byte // the close frame to send the client; set before done closes
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
	t := &tunnel{s: s, ws: ws, id: randomSessionID(), out: make(chan []byte, sendBuffer), done: make(chan struct{}), readerDone: make(chan struct{})}
	nc, node := s.opts.Cluster.Conn(), s.opts.Cluster.Node()
	t.sub, err = nc.Subscribe(subjOutPrefix+node+"."+t.id, t.fromServing)
	st := s.cl
	st.mu.Lock()
	refused := err != nil || st.serving || s.isClosed()
	if !refused {
		st.tunnels[t] = struct{}{}
	}
	st.mu.Unlock()
	if refused {
		// Serving now (it took the lease meanwhile) or shutting down: the
		// client redials.
		if t.sub != nil {
			_ = t.sub.Unsubscribe()
		}
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "retry"), time.Now().Add(writeWait))
		_ = ws.Close()
		return
	}
	s.connWG.Add(2)
	if err := t.open(r); err != nil {
		t.closeClient(websocket.CloseTryAgainLater, "serving node unreachable")
	}
	go t.writeLoop()
	t.readLoop()
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
		select {
		case t.out <- m.Data:
		default:
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
		close(t.done)
	})
}

func (t *tunnel) readLoop() {
	s := t.s
	defer func() {
		t.closeWith(nil)
		_ = t.toServing(tunClose, nil)
		_ = t.sub.Unsubscribe()
		s.cl.mu.Lock()
		delete(s.cl.tunnels, t)
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

func (t *tunnel) writeLoop() {
	s := t.s
	ping := time.NewTicker(s.opts.PingInterval)
	defer func() {
		ping.Stop()
		_ = t.ws.Close()
		s.connWG.Done()
	}()
	write := func(b []byte) bool {
		_ = t.ws.SetWriteDeadline(time.Now().Add(writeWait))
		return t.ws.WriteMessage(websocket.TextMessage, b) == nil
	}
	for {
		select {
		case b := <-t.out:
			if !write(b) {
				t.closeWith(nil)
				return
			}
		case <-ping.C:
			if t.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)) != nil {
				t.closeWith(nil)
				return
			}
		case <-t.done:
			for flushing := true; flushing; {
				select {
				case b := <-t.out:
					flushing = write(b)
				default:
					flushing = false
				}
			}
			if t.closeData != nil {
				_ = t.ws.WriteControl(websocket.CloseMessage, t.closeData, time.Now().Add(writeWait))
				// Let the client answer it, so it reads ours before the socket goes.
				w := time.NewTimer(closeWait)
				select {
				case <-t.readerDone:
				case <-w.C:
				}
				w.Stop()
			}
			return
		}
	}
}
