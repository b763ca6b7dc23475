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
// (readLoop, which also dispatches requests). Writes have no goroutine
// of their own while the connection is idle: Send queues a frame and
// starts a flush goroutine if none runs, which writes until the queue is
// empty and ends. An idle connection holds one goroutine and no queue
// (issue 14: ~56 KiB a user before, most of it in a second goroutine, a
// 256-slot channel and write buffers).
type conn struct {
	s  *Server
	ws socket // nil for in-process connections (fuzzing): frames stay queued

	qmu      sync.Mutex
	queue    [][]byte // frames not written yet; nil when drained
	flushing bool     // a flush goroutine runs (for good, once it has closed the socket)
	pingDue  bool     // the ping wheel asked for a ping
	pingSlot int      // of the ping wheel; owned by it

	closeOnce  sync.Once
	done       chan struct{} // closed when the connection is closing
	readerDone chan struct{}
	closeCode  int    // written before done is closed
	closeText  string // idem

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
	return &conn{
		s:          s,
		ws:         ws,
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
		limiter:    newTokenBucket(s.opts.RatePerSec, s.opts.RateBurst, s.now()),
		endLimiter: newTokenBucket(endRatePerSec, endRateBurst, s.now()),
	}
}

// Send queues a frame for the socket without blocking (routing.Endpoint).
// A connection with sendBuffer frames unwritten is a slow consumer and is
// dropped rather than slowing down the server.
func (c *conn) Send(frame []byte) bool {
	c.qmu.Lock()
	if c.closing() {
		c.qmu.Unlock()
		return false
	}
	if len(c.queue) >= sendBuffer {
		c.qmu.Unlock()
		c.s.log.Warn("slow consumer dropped", "user", c.userID())
		c.close(websocket.ClosePolicyViolation, "slow consumer")
		return false
	}
	c.queue = append(c.queue, frame)
	start := c.startFlushLocked()
	c.qmu.Unlock()
	if start {
		go c.flush()
	}
	return true
}

// ping asks for a ping frame (the ping wheel calls it).
func (c *conn) ping() {
	c.qmu.Lock()
	c.pingDue = true
	start := c.startFlushLocked()
	c.qmu.Unlock()
	if start {
		go c.flush()
	}
}

// startFlushLocked reports whether the caller must start a flush
// goroutine, and counts it as running.
func (c *conn) startFlushLocked() bool {
	if c.ws == nil || c.flushing {
		return false
	}
	c.flushing = true
	return true
}

// queued takes the frames not written yet (in-process connections).
func (c *conn) queued() [][]byte {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	q := c.queue
	c.queue = nil
	return q
}

// close starts closing the connection: the writer flushes what is queued,
// sends a close frame with code and text, and shuts the socket.
func (c *conn) close(code int, text string) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeText = code, text
		close(c.done)
		// The flush goroutine writes what was queued, then the close frame.
		c.qmu.Lock()
		start := c.startFlushLocked()
		c.qmu.Unlock()
		if start {
			go c.flush()
		}
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

// flush writes queued frames and due pings until there are none, then
// ends; once the connection is closing it sends the close frame, shuts
// the socket and stays counted as running, so that none starts again.
// Pings, like the read and write deadlines, run on real time rather than
// the server's clock: they check the network, and the pong they draw is
// what extends the read deadline.
func (c *conn) flush() {
	broken := false
	for {
		c.qmu.Lock()
		frames, ping := c.queue, c.pingDue
		c.queue, c.pingDue = nil, false
		if len(frames) == 0 && !ping {
			if c.closing() {
				c.qmu.Unlock()
				c.finish()
				return
			}
			c.flushing = false
			c.qmu.Unlock()
			return
		}
		c.qmu.Unlock()
		for _, frame := range frames {
			if broken {
				break
			}
			_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
				broken = true
				c.close(websocket.CloseAbnormalClosure, "")
			}
		}
		if ping && !broken {
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				broken = true
				c.close(websocket.CloseAbnormalClosure, "")
			}
		}
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
	t := time.NewTimer(closeWait)
	select {
	case <-c.readerDone:
	case <-t.C:
	}
	t.Stop()
	_ = c.ws.Close()
	s.pings.remove(c)
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.connWG.Done()
}
