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

// conn is one client websocket. It has exactly one reader goroutine
// (readLoop, which also dispatches requests) and one writer goroutine
// (writeLoop); everything else talks to it through Send and close.
type conn struct {
	s    *Server
	ws   socket      // nil for in-process connections (fuzzing)
	send chan []byte // never closed; the writer stops on done

	closeOnce  sync.Once
	done       chan struct{} // closed when the connection is closing
	readerDone chan struct{}
	closeCode  int    // written before done is closed
	closeText  string // idem

	// Owned by the reader goroutine.
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
	return &conn{
		s:          s,
		ws:         ws,
		send:       make(chan []byte, sendBuffer),
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
		limiter:    newTokenBucket(s.opts.RatePerSec, s.opts.RateBurst, s.now()),
		endLimiter: newTokenBucket(endRatePerSec, endRateBurst, s.now()),
	}
}

// Send queues a frame for the writer without blocking (routing.Endpoint).
// A connection whose queue is full is a slow consumer and is dropped rather
// than slowing down the server.
func (c *conn) Send(frame []byte) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case c.send <- frame:
		return true
	default:
		c.s.log.Warn("slow consumer dropped", "user", c.userID())
		c.close(websocket.ClosePolicyViolation, "slow consumer")
		return false
	}
}

// close starts closing the connection: the writer flushes what is queued,
// sends a close frame with code and text, and shuts the socket.
func (c *conn) close(code int, text string) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeText = code, text
		close(c.done)
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
		_ = c.ws.Close()
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

// writeLoop writes queued frames and pings until the connection closes.
// Pings, like the read and write deadlines, run on real time rather than
// the server's clock: they check the network, and the pong they draw is
// what extends the read deadline.
func (c *conn) writeLoop() {
	s := c.s
	ticker := time.NewTicker(s.opts.PingInterval)
	defer func() {
		ticker.Stop()
		_ = c.ws.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.connWG.Done()
	}()
	write := func(frame []byte) bool {
		_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
		if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
			c.close(websocket.CloseAbnormalClosure, "")
			return false
		}
		return true
	}
	for {
		select {
		case frame := <-c.send:
			if !write(frame) {
				return
			}
		case <-ticker.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				c.close(websocket.CloseAbnormalClosure, "")
				return
			}
		case <-c.done:
			// Flush what was queued before the close (a reply, kicked...).
			for flushing := true; flushing; {
				select {
				case frame := <-c.send:
					flushing = write(frame)
				default:
					flushing = false
				}
			}
			if c.closeCode != websocket.CloseAbnormalClosure {
				_ = c.ws.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(c.closeCode, c.closeText), time.Now().Add(writeWait))
			}
			// Give the peer a moment to answer the close frame so that it
			// reads ours before the socket goes away.
			t := time.NewTimer(closeWait)
			select {
			case <-c.readerDone:
			case <-t.C:
			}
			t.Stop()
			return
		}
	}
}
