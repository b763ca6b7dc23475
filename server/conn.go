package server

import (
	"errors"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/termcall/termcall/server/proto"
)

// conn is one client websocket. Idle, a plain one has no goroutine: the
// poller reads it when it is readable (poller_linux.go); others (TLS, a
// cluster node's remote sockets) have one, their reader (readLoop).
// Requests are dispatched on the frame workers (workers.go) and writes on
// its outbox's flush goroutine, which ends when the queue is empty.
type conn struct {
	s   *Server
	ws  socket // nil for in-process connections (fuzzing): frames stay queued
	out outbox // the write side (outbox.go)

	closeOnce  sync.Once
	done       chan struct{} // closed when the connection is closing
	readerDone chan struct{}
	// polled is set when the poller reads the socket instead of readLoop.
	polled    atomic.Pointer[polled]
	closeCode int    // written before done is closed
	closeText string // idem

	// Owned by the reader goroutine.
	handled    chan *frameJob // a worker has handled the reader's frame (workers.go)
	limiter    tokenBucket
	endLimiter tokenBucket // ending requests once limiter is spent (dispatch.go)
	rateErrors int

	// sess is the session this connection is logged in as; guarded by s.mu.
	sess *session
	// Admission before login (admit.go); guarded by s.mu.
	pool       pool
	addr       string   // addrKey, while in poolPending
	reserveFor *session // the session to resume, while in poolReserve
	loginTimer Timer    // the login deadline
	// name is the logged-in userID, for logs. It is atomic because logging
	// happens on paths that must not take s.mu (Send runs under outMu).
	name atomic.Pointer[string]
}

// socket is what a conn reads and writes: a client's websocket, or on a
// cluster's serving node a websocket another node holds (remote.go).
type socket interface {
	ReadMessage() (messageType int, p []byte, err error)
	WriteMessage(messageType int, data []byte) error
	WriteControl(messageType int, data []byte, deadline time.Time) error
	SetReadLimit(limit int64)
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	SetPongHandler(h func(appData string) error)
	Close() error
}

func newConn(s *Server, ws socket) *conn {
	c := &conn{
		s:          s,
		ws:         ws,
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
		limiter:    newTokenBucket(s.opts.RatePerSec, s.opts.RateBurst, s.now()),
		endLimiter: newTokenBucket(endRatePerSec, endRateBurst, s.now()),
	}
	c.out.onBroken = func() { c.close(websocket.CloseAbnormalClosure, "") }
	c.out.finish = c.finish
	return c
}

// Send queues a frame for the socket without blocking (routing.Endpoint).
// A connection with sendBuffer frames unwritten is a slow consumer and is
// dropped rather than slowing down the server.
func (c *conn) Send(frame []byte) bool {
	if c.closing() {
		return false
	}
	ok, full := c.out.push(frame)
	if full {
		c.s.log.Warn("slow consumer dropped", "user", c.userID())
		c.close(websocket.ClosePolicyViolation, "slow consumer")
	}
	return ok
}

// queued takes the frames not written yet (in-process connections).
func (c *conn) queued() [][]byte { return c.out.taken() }

// close starts closing the connection: the writer flushes what is queued,
// sends a close frame with code and text, and shuts the socket.
func (c *conn) close(code int, text string) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeText = code, text
		close(c.done)
		// The flush goroutine writes what was queued, then finish sends
		// the close frame.
		c.out.shut()
	})
}

func (c *conn) closing() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// forceClose cuts the socket at once.
func (c *conn) forceClose() {
	c.close(websocket.CloseGoingAway, proto.ReasonShutdown)
	if c.ws != nil {
		c.stopReading()
		_ = c.ws.Close()
	}
}

// stopReading takes a polled socket out of the poller; it must come
// before the socket is closed (a readLoop ends on the closed socket).
func (c *conn) stopReading() {
	if pc := c.polled.Load(); pc != nil {
		pc.stop()
	}
}

func (c *conn) userID() string {
	if p := c.name.Load(); p != nil {
		return *p
	}
	return ""
}

// readLoop reads frames until the socket fails, dispatching each one.
func (c *conn) readLoop() {
	s := c.s
	defer func() {
		code := websocket.CloseNormalClosure
		if r := recover(); r != nil {
			// A last resort: handlers are written not to panic.
			s.log.Error("panic in connection", "panic", r, "stack", string(debug.Stack()))
			code = websocket.CloseInternalServerErr
		}
		c.close(code, "")
		s.connGone(c)
		close(c.readerDone)
		s.connWG.Done()
	}()
	c.ws.SetReadLimit(proto.MaxFrameSize)
	_ = c.ws.SetReadDeadline(time.Now().Add(s.opts.PongWait))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(s.opts.PongWait))
	})
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				// gorilla has sent close 1009; read out the rest so that the
				// peer sees that close frame rather than a reset socket.
				if nc, ok := c.ws.(interface{ NetConn() net.Conn }); ok {
					_ = c.ws.SetReadDeadline(time.Now().Add(closeWait))
					_, _ = io.Copy(io.Discard, nc.NetConn())
				}
			} else if !c.closing() && !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
				s.log.Debug("read", "user", c.userID(), "err", err)
			}
			return
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(s.opts.PongWait))
		if c.closing() {
			continue // wait for the peer's close frame
		}
		s.receive(c, mt == websocket.BinaryMessage, data)
	}
}

// finish ends a closing connection's writing: the close frame, a moment
// for the peer to answer it so that it reads ours before the socket goes
// away, then the socket.
func (c *conn) finish() {
	s := c.s
	if c.closeCode != websocket.CloseAbnormalClosure {
		_ = c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(c.closeCode, c.closeText), time.Now().Add(writeWait))
	}
	awaitPeerClose(c.readerDone)
	c.stopReading()
	_ = c.ws.Close()
	s.pings.remove(&c.out)
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.connWG.Done()
}

// awaitPeerClose gives the peer up to closeWait to answer a close frame
// (its reader, readerDone, ends then), so that it reads ours before the
// socket goes away.
func awaitPeerClose(readerDone <-chan struct{}) {
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-readerDone:
	case <-t.C:
	}
}
