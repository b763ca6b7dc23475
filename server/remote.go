package server

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"
)

// remoteInBuffer bounds the frames of one remote client waiting for its
// reader; a client past it is dropped as a slow one would be.
const remoteInBuffer = 256

var errRemoteClosed = errors.New("remote connection closed")

// remoteSocket is, on the serving node, a client websocket that another
// node holds: reads come from that node over NATS, writes go back to it.
// Liveness (pings, read deadlines, frame size) is the holding node's job,
// so those calls do nothing here; the serving node learns of a dead node
// from its missing beats (cluster.go).
type remoteSocket struct {
	s      *Server
	node   string
	key    string // NODE/CONN in clusterState.remotes
	subj   string // where its frames go
	opened time.Time

	in        chan []byte
	done      chan struct{}
	once      sync.Once
	closeSent atomic.Bool
}

func newRemoteSocket(s *Server, node, id string) *remoteSocket {
	return &remoteSocket{
		s: s, node: node, key: node + "/" + id, subj: subjOutPrefix + node + "." + id, opened: time.Now(),
		in: make(chan []byte, remoteInBuffer), done: make(chan struct{}),
	}
}

// deliver hands a frame from the client's node to the reader.
func (r *remoteSocket) deliver(b []byte) {
	select {
	case r.in <- b:
	default:
		r.s.log.Warn("remote client too fast: dropped", "node", r.node)
		r.sendClose(websocket.ClosePolicyViolation, "too many frames")
		r.peerGone()
	}
}

// peerGone ends the socket from the client's side (its node said so, or
// is gone).
func (r *remoteSocket) peerGone() {
	r.once.Do(func() {
		close(r.done)
		st := r.s.cl
		st.mu.Lock()
		if st.remotes[r.key] == r {
			delete(st.remotes, r.key)
		}
		st.mu.Unlock()
	})
}

// ReadMessage returns the next frame, or a close error once the socket is
// closed and the frames before it are read.
func (r *remoteSocket) ReadMessage() (int, []byte, error) {
	select {
	case b := <-r.in:
		return websocket.TextMessage, b, nil
	default:
	}
	select {
	case b := <-r.in:
		return websocket.TextMessage, b, nil
	case <-r.done:
		return 0, nil, &websocket.CloseError{Code: websocket.CloseGoingAway, Text: "closed by the client's node"}
	}
}

func (r *remoteSocket) publish(op string, data []byte) error {
	select {
	case <-r.done:
		if op == tunFrame {
			return errRemoteClosed
		}
	default:
	}
	m := nats.NewMsg(r.subj)
	m.Header.Set(hdrOp, op)
	m.Data = data
	return r.s.opts.Cluster.Conn().PublishMsg(m)
}

// WriteMessage sends a frame to the client through its node.
func (r *remoteSocket) WriteMessage(_ int, data []byte) error { return r.publish(tunFrame, data) }

// WriteControl passes a close frame on; pings are the holding node's.
func (r *remoteSocket) WriteControl(mt int, data []byte, _ time.Time) error {
	if mt != websocket.CloseMessage {
		return nil
	}
	r.closeSent.Store(true)
	return r.publish(tunClose, data)
}

func (r *remoteSocket) sendClose(code int, text string) {
	_ = r.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Time{})
}

func (r *remoteSocket) SetReadLimit(int64)                {}
func (r *remoteSocket) SetReadDeadline(time.Time) error   { return nil }
func (r *remoteSocket) SetWriteDeadline(time.Time) error  { return nil }
func (r *remoteSocket) SetPongHandler(func(string) error) {}

// Close ends the socket from this side; the client's node closes the
// websocket (with the close frame sent before, or an abnormal one).
func (r *remoteSocket) Close() error {
	if !r.closeSent.Load() {
		r.sendClose(websocket.CloseGoingAway, "")
	}
	r.peerGone()
	return nil
}
