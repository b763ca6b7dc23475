package server

import (
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// outbox is the write side of a client websocket (a conn, or a tunnel on a
// node that does not serve) with no goroutine while it is idle: push queues
// a frame and starts a flush goroutine if none runs, which writes until
// the queue is empty and ends. An idle connection holds neither a writer
// goroutine nor a queue (issue 14: with a writer goroutine and a 256-slot
// channel each, an idle user cost the server 56 KiB).
type outbox struct {
	ws wsWriter // nil until attach: frames stay queued (in-process connections never attach)
	// onBroken runs when a write fails; finish runs once, on the flush
	// goroutine, after the last frame of a shut outbox (the close frame,
	// the socket). Both are set before the first push.
	onBroken func()
	finish   func()

	mu       sync.Mutex
	queue    [][]byte // frames not written yet; nil when drained
	flushing bool     // a flush goroutine runs (for good, once finished)
	pingDue  bool     // the ping wheel asked for a ping
	shutting bool     // no more frames: flush the rest, then finish
	pingSlot int      // of the ping wheel; owned by it
}

// wsWriter is what an outbox writes to.
type wsWriter interface {
	WriteMessage(messageType int, data []byte) error
	WriteControl(messageType int, data []byte, deadline time.Time) error
	SetWriteDeadline(t time.Time) error
}

// push queues frame. It reports false when the outbox is shut, and full
// when sendBuffer frames are waiting: a slow consumer, whose frame is not
// queued.
func (o *outbox) push(frame []byte) (ok, full bool) {
	o.mu.Lock()
	if o.shutting {
		o.mu.Unlock()
		return false, false
	}
	if len(o.queue) >= sendBuffer {
		o.mu.Unlock()
		return false, true
	}
	o.queue = append(o.queue, frame)
	o.kickLocked()
	return true, false
}

// ping asks for a ping frame (the ping wheel calls it).
func (o *outbox) ping() {
	o.mu.Lock()
	o.pingDue = true
	o.kickLocked()
}

// shut refuses further frames; the flush goroutine writes what is queued
// and then runs finish.
func (o *outbox) shut() {
	o.mu.Lock()
	o.shutting = true
	o.kickLocked()
}

// kickLocked starts a flush goroutine if none runs, and unlocks.
func (o *outbox) kickLocked() {
	start := o.ws != nil && !o.flushing
	if start {
		o.flushing = true
	}
	o.mu.Unlock()
	if start {
		go o.flush()
	}
}

// attach gives the outbox its socket once the connection is registered,
// and writes what was queued meanwhile (or finishes, if it was shut: a
// connection superseded during its upgrade).
func (o *outbox) attach(ws wsWriter) {
	o.mu.Lock()
	o.ws = ws
	o.kickLocked()
}

// taken takes the frames not written yet (in-process connections).
func (o *outbox) taken() [][]byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.queue
	o.queue = nil
	return q
}

// flush writes queued frames and due pings until there are none, then
// ends, or finishes a shut outbox and stays counted as running, so that
// none starts again. Pings, like the read and write deadlines, run on real
// time rather than the server's clock: they check the network, and the
// pong they draw is what extends the read deadline.
func (o *outbox) flush() {
	broken := false
	for {
		o.mu.Lock()
		frames, ping := o.queue, o.pingDue
		o.queue, o.pingDue = nil, false
		if len(frames) == 0 && !ping {
			shutting := o.shutting
			if !shutting {
				o.flushing = false
			}
			o.mu.Unlock()
			if shutting {
				o.finish()
			}
			return
		}
		o.mu.Unlock()
		for _, frame := range frames {
			if broken {
				break
			}
			_ = o.ws.SetWriteDeadline(time.Now().Add(writeWait))
			if err := o.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
				broken = true
				o.onBroken()
			}
		}
		if ping && !broken {
			if err := o.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				broken = true
				o.onBroken()
			}
		}
	}
}
