package server

import (
	"runtime/debug"

	"github.com/gorilla/websocket"

	"github.com/termcall/termcall/server/proto"
)

// Requests are dispatched by a pool of frame workers, not on the readers:
// dispatching (JSON bodies, the state machine, the store) grows a stack
// to ~16 KiB, and on the readers of thousands of idle connections the
// garbage collector shrank those stacks at every cycle and the next frame
// grew them again (runtime.copystack was 15 % of the server's CPU at
// 4,000 invites/s). Readers keep small stacks: 18 -> 14 KiB a user.
// A reader waits for its frame's worker, which keeps each connection's
// frames in order.

// frameWorkers is how many goroutines dispatch frames. A worker waits for
// the store's acknowledgement and its turn to deliver (tx.go), so many are
// busy at once under load.
const frameWorkers = 64

// frameJob is one message from a connection: raw, or a frame already
// checked (after its reader waited for a token).
type frameJob struct {
	c       *conn
	binary  bool
	data    []byte
	f       proto.Frame
	decoded bool
	// Set by the worker for the reader: an ending request that must wait
	// for a token (dispatch.go, receive).
	wait bool
}

// onWorker has a frame worker check and dispatch j, and waits for it. It
// returns the frame and true when the reader must wait for a token and
// submit the frame again.
func (c *conn) onWorker(j frameJob) (proto.Frame, bool) {
	if c.handled == nil {
		c.handled = make(chan *frameJob, 1)
	}
	j.c = c
	c.s.workOnce.Do(c.s.startWorkers)
	select {
	case c.s.frames <- &j:
	case <-c.s.quit: // shut down
		return proto.Frame{}, false
	}
	r := <-c.handled
	return r.f, r.wait
}

// startWorkers starts the frame workers; they end when quit is closed
// (Shutdown).
func (s *Server) startWorkers() {
	for range frameWorkers {
		s.workerWG.Add(1)
		go s.frameWorker()
	}
}

func (s *Server) frameWorker() {
	defer s.workerWG.Done()
	for {
		select {
		case <-s.quit:
			return
		case j := <-s.frames:
			s.handleJob(j)
			j.c.handled <- j
		}
	}
}

func (s *Server) handleJob(j *frameJob) {
	defer func() {
		if r := recover(); r != nil {
			// A last resort: handlers are written not to panic.
			s.log.Error("panic in connection", "panic", r, "stack", string(debug.Stack()))
			j.c.close(websocket.CloseInternalServerErr, "")
		}
	}()
	if !j.decoded {
		var ok bool
		if j.f, ok, j.wait = s.check(j.c, j.binary, j.data); !ok {
			return
		}
	}
	s.dispatch(j.c, j.f)
}
