//go:build linux

package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"github.com/termcall/termcall/server/proto"
)

// The poller reads plain (non-TLS) client websockets on readiness, from an
// epoll set of its own, instead of with a goroutine parked in a read per
// connection. At 10k idle users those 10k reader stacks were half of the
// garbage collector's mark work, and the mark phase set the invitation
// tail at 4,000/s (docs/performance.md). A goroutine runs only while a
// connection has bytes to read.
//
// The epoll descriptor is itself registered with Go's network poller (an
// epoll set is readable when one of its members is), so waiting for events
// takes no thread, and closing it ends the wait.

// pollReadSize is how much one read takes from a socket; a client's frames
// are a few hundred bytes.
const pollReadSize = 4096

type poller struct {
	file *os.File // the epoll descriptor, in Go's network poller
	raw  syscall.RawConn
	epfd int // its number, for epoll_ctl under ctlMu
	log  *slog.Logger

	// pongWait is how long a connection may stay silent; sweepEvery how
	// often silent connections are looked for.
	pongWait   time.Duration
	sweepEvery time.Duration

	mu     sync.Mutex
	conns  map[uint64]*polled
	nextID uint64
	// ctlMu keeps epoll_ctl off a closed (and maybe reused) epoll
	// descriptor number: control calls hold it shared, close exclusively.
	ctlMu  sync.RWMutex
	closed bool

	bufs sync.Pool // *[pollReadSize]byte
	done chan struct{}
}

// polled is one connection in the poller.
type polled struct {
	p   *poller
	c   *conn
	id  uint64
	raw syscall.RawConn

	lastRead atomic.Int64 // unix nanoseconds of the last bytes read

	mu sync.Mutex
	// busy: a goroutine is reading it (the descriptor is not armed then,
	// EPOLLONESHOT). detached: out of the epoll set for good.
	busy, detached bool
	endOnce        sync.Once
	// Owned by the reading goroutine.
	fr      frameReader
	discard bool // after a message over the limit: read out until the peer closes
}

func newPoller(pongWait time.Duration, log *slog.Logger) (*poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("epoll: %w", err)
	}
	// Non-blocking, so NewFile puts it in Go's network poller.
	f := os.NewFile(uintptr(fd), "epoll")
	raw, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("epoll: %w", err)
	}
	p := &poller{
		file:       f,
		raw:        raw,
		epfd:       fd,
		log:        log,
		pongWait:   pongWait,
		sweepEvery: min(time.Second, max(pongWait/8, 10*time.Millisecond)),
		conns:      make(map[uint64]*polled),
		done:       make(chan struct{}),
	}
	p.bufs.New = func() any { return new([pollReadSize]byte) }
	go p.loop()
	return p, nil
}

// add reads c from now on; false when its socket cannot be polled (TLS, or
// not a kernel socket), and c keeps a reader goroutine.
func (p *poller) add(c *conn, nc any) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	if d, ok := nc.(interface{ SetReadDeadline(time.Time) error }); ok {
		// Raw reads fail once a deadline has passed; the poller keeps its own.
		_ = d.SetReadDeadline(time.Time{})
	}
	pc := &polled{p: p, c: c, raw: raw, fr: frameReader{limit: proto.MaxFrameSize}}
	pc.lastRead.Store(time.Now().UnixNano())
	p.mu.Lock()
	p.nextID++
	pc.id = p.nextID
	p.conns[pc.id] = pc
	p.mu.Unlock()
	c.polled.Store(pc)
	if err := pc.ctl(unix.EPOLL_CTL_ADD); err != nil {
		// Only when the kernel is out of memory or epoll watches: the
		// connection cannot be read, so it is closed with a reason.
		p.log.Warn("cannot poll connection", "err", err)
		c.close(websocket.CloseTryAgainLater, "server busy")
		pc.mu.Lock()
		pc.detachLocked()
		pc.mu.Unlock()
		pc.end(websocket.CloseTryAgainLater)
	}
	return true
}

// ctl adds, re-arms or removes the connection's descriptor. Run through
// the RawConn, it never touches a descriptor number already closed.
func (pc *polled) ctl(op int) error {
	p := pc.p
	p.ctlMu.RLock()
	defer p.ctlMu.RUnlock()
	if p.closed {
		return os.ErrClosed
	}
	ev := unix.EpollEvent{
		Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT,
		Fd:     int32(uint32(pc.id)),
		Pad:    int32(uint32(pc.id >> 32)),
	}
	var cerr error
	err := pc.raw.Control(func(fd uintptr) {
		cerr = unix.EpollCtl(p.epfd, op, int(fd), &ev)
	})
	if err != nil {
		return err
	}
	return cerr
}

// loop hands each ready connection to a goroutine of its own, and drops
// silent ones, until the poller is closed.
func (p *poller) loop() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 128)
	for {
		_ = p.file.SetReadDeadline(time.Now().Add(p.sweepEvery))
		err := p.raw.Read(func(fd uintptr) bool {
			for {
				n, err := unix.EpollWait(int(fd), events, 0)
				if errors.Is(err, unix.EINTR) {
					continue
				}
				if n > 0 {
					p.dispatch(events[:n])
				}
				if err != nil || n < len(events) {
					// Drained: wait for readiness. The set becomes readable
					// again as soon as a member does.
					return false
				}
			}
		})
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			p.sweep()
		case err != nil:
			return // closed
		}
	}
}

func (p *poller) dispatch(events []unix.EpollEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ev := range events {
		id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
		if pc := p.conns[id]; pc != nil {
			go pc.run()
		}
	}
}

// sweep ends the reading of connections silent for longer than pongWait
// (the ping wheel pings each one well within it).
func (p *poller) sweep() {
	cutoff := time.Now().Add(-p.pongWait).UnixNano()
	var silent []*polled
	p.mu.Lock()
	for _, pc := range p.conns {
		if pc.lastRead.Load() < cutoff {
			silent = append(silent, pc)
		}
	}
	p.mu.Unlock()
	for _, pc := range silent {
		pc.mu.Lock()
		if pc.busy || pc.detached || pc.lastRead.Load() >= cutoff {
			pc.mu.Unlock()
			continue
		}
		pc.detachLocked()
		pc.mu.Unlock()
		pc.c.s.log.Debug("read", "user", pc.c.userID(), "err", "no frame or pong within the pong wait")
		pc.end(websocket.CloseNormalClosure)
	}
}

// close stops the poller once no connection is in it (Shutdown, after the
// connections have ended).
func (p *poller) close() {
	p.ctlMu.Lock()
	p.closed = true
	p.ctlMu.Unlock()
	_ = p.file.Close()
	<-p.done
}

// run reads what the socket has, hands each message on as the reader
// goroutine did, and re-arms the descriptor when the socket runs dry.
func (pc *polled) run() {
	pc.mu.Lock()
	if pc.detached || pc.busy {
		pc.mu.Unlock()
		return
	}
	pc.busy = true
	pc.mu.Unlock()

	code, done := websocket.CloseNormalClosure, false
	defer func() {
		if r := recover(); r != nil {
			// A last resort, as in readLoop: handlers are written not to panic.
			pc.c.s.log.Error("panic in connection", "panic", r, "stack", string(debug.Stack()))
			code, done = websocket.CloseInternalServerErr, true
		}
		if done {
			pc.mu.Lock()
			pc.detachLocked()
			pc.busy = false
			pc.mu.Unlock()
			pc.end(code)
		}
	}()
	buf := pc.p.bufs.Get().(*[pollReadSize]byte)
	defer pc.p.bufs.Put(buf)
	for {
		n, err := pc.read(buf[:])
		switch {
		case errors.Is(err, unix.EAGAIN):
			// Dry: re-arm, unless stop came meanwhile or re-arming fails;
			// then this reader ends it.
			pc.mu.Lock()
			if !pc.detached && pc.ctl(unix.EPOLL_CTL_MOD) == nil {
				pc.busy = false
				pc.mu.Unlock()
				return
			}
			pc.mu.Unlock()
			done = true
			return
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil || n == 0:
			// EOF, a reset, or the socket closed under us (forceClose).
			if err != nil && !pc.c.closing() && !errors.Is(err, unix.ECONNRESET) {
				pc.c.s.log.Debug("read", "user", pc.c.userID(), "err", err)
			}
			done = true
			return
		}
		pc.lastRead.Store(time.Now().UnixNano())
		if pc.discard {
			continue
		}
		if fc, end := pc.feed(buf[:n]); end {
			code, done = fc, true
			return
		}
	}
}

// read takes what the socket has without waiting: EAGAIN when nothing.
func (pc *polled) read(b []byte) (int, error) {
	var n int
	var rerr error
	err := pc.raw.Read(func(fd uintptr) bool {
		n, rerr = unix.Read(int(fd), b)
		return true // never park in Go's poller: epoll says when to come back
	})
	if err != nil {
		return 0, err
	}
	if n < 0 {
		n = 0
	}
	return n, rerr
}

// feed parses b and handles each message; done when the reading ends,
// with the close code to give.
func (pc *polled) feed(b []byte) (code int, done bool) {
	c := pc.c
	err := pc.fr.feed(b, func(m wsMessage) error {
		switch m.op {
		case websocket.TextMessage, websocket.BinaryMessage:
			if !c.closing() { // else wait for the peer's close frame
				c.s.receive(c, m.op == websocket.BinaryMessage, m.data)
			}
		case websocket.PingMessage:
			_ = c.ws.WriteControl(websocket.PongMessage, m.data, time.Now().Add(writeWait))
		case websocket.PongMessage:
			// lastRead is updated already.
		case websocket.CloseMessage:
			return peerClosed{echoCloseFrame(m.data)}
		}
		return nil
	})
	var wsErr *wsError
	var pcl peerClosed
	switch {
	case err == nil:
		return 0, false
	case errors.As(err, &pcl):
		// As gorilla does: answer with the peer's code, then end.
		_ = c.ws.WriteControl(websocket.CloseMessage, pcl.frame, time.Now().Add(writeWait))
		return websocket.CloseNormalClosure, true
	case errors.As(err, &wsErr) && wsErr.code == websocket.CloseMessageTooBig:
		// Read out the rest, so that the peer sees the close frame rather
		// than a reset socket; finish stops the reading after closeWait.
		c.close(wsErr.code, "")
		pc.discard = true
		return 0, false
	case errors.As(err, &wsErr):
		c.s.log.Debug("read", "user", c.userID(), "err", err)
		c.close(wsErr.code, wsErr.text)
		return wsErr.code, true
	default:
		return websocket.CloseInternalServerErr, true
	}
}

// peerClosed ends a feed at the peer's close frame; frame is the answer.
type peerClosed struct{ frame []byte }

func (peerClosed) Error() string { return "peer closed" }

// echoCloseFrame is the close frame answering a peer's: its code, or none.
func echoCloseFrame(payload []byte) []byte {
	if len(payload) < 2 {
		return websocket.FormatCloseMessage(websocket.CloseNoStatusReceived, "")
	}
	return websocket.FormatCloseMessage(int(binary.BigEndian.Uint16(payload)), "")
}

// detachLocked takes the descriptor out of the epoll set; pc.mu is held.
func (pc *polled) detachLocked() {
	if pc.detached {
		return
	}
	pc.detached = true
	_ = pc.ctl(unix.EPOLL_CTL_DEL)
	pc.p.mu.Lock()
	delete(pc.p.conns, pc.id)
	pc.p.mu.Unlock()
}

// stop ends the reading before the socket is closed (finish, forceClose):
// after it, no epoll_ctl can reach the descriptor number.
func (pc *polled) stop() {
	pc.mu.Lock()
	pc.detachLocked()
	busy := pc.busy
	pc.mu.Unlock()
	if !busy {
		pc.end(websocket.CloseNormalClosure)
	}
	// A busy reader ends itself: its next read fails or finds nothing.
}

// end does what a reader goroutine does when it returns, once.
func (pc *polled) end(code int) {
	pc.endOnce.Do(func() {
		c := pc.c
		c.close(code, "")
		c.s.connGone(c)
		close(c.readerDone)
		c.s.connWG.Done()
	})
}
