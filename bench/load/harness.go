package load

import (
	"encoding/json"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/termcall/termcall/server/proto"
)

// call is one invite→cancel cycle between two idle users.
type call struct {
	caller, callee int
	sent           time.Time
	invited        bool // the callee's invited push came
	ends           int  // inviteCancelled (callee) and callEnded (caller) seen
	ph             *phaseStats
}

// phaseStats collects one rate's phase. It is guarded by harness.mu.
type phaseStats struct {
	sent      int
	missed    int // ticks with no idle pair, or dropped because the sender fell behind
	noIdle    int // of missed: no two idle users (every user was in a cycle)
	errors    int // error frames answering invite or cancel
	latencies []time.Duration
}

// harness owns the users' states: idle users are free for a new cycle; a
// user in a call is neither picked again nor released until both of the
// call's ends have been seen, so no invitation ever finds a busy user.
type harness struct {
	users []*user

	mu       sync.Mutex
	rng      *rand.Rand
	idle     []int
	byCallee map[int]*call
	byCaller map[int]*call
	lost     int // connections that closed during the run
	closing  bool
}

func newHarness(users []*user, seed uint64) *harness {
	h := &harness{
		users:    users,
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		byCallee: make(map[int]*call),
		byCaller: make(map[int]*call),
	}
	for i := range users {
		h.idle = append(h.idle, i)
	}
	return h
}

// take removes a random idle user from the pool; the caller holds mu.
func (h *harness) take() int {
	j := h.rng.IntN(len(h.idle))
	i := h.idle[j]
	h.idle[j] = h.idle[len(h.idle)-1]
	h.idle = h.idle[:len(h.idle)-1]
	return i
}

// start begins one cycle, or counts a miss when fewer than two users are
// idle.
func (h *harness) start(ph *phaseStats) {
	h.mu.Lock()
	if len(h.idle) < 2 {
		ph.missed++
		ph.noIdle++
		h.mu.Unlock()
		return
	}
	c := &call{caller: h.take(), callee: h.take(), ph: ph}
	h.byCaller[c.caller] = c
	h.byCallee[c.callee] = c
	ph.sent++
	c.sent = time.Now()
	h.mu.Unlock()
	err := h.users[c.caller].sendBody(proto.TypeInvite, proto.InviteRequest{
		Invitees: []string{h.users[c.callee].id}, CallType: proto.CallTypeAudio, Timeout: 30,
	})
	if err != nil {
		h.fail(c)
	}
}

// fail forgets a cycle that went wrong and frees its users; the server has
// settled it by the time it answered with an error.
func (h *harness) fail(c *call) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byCaller[c.caller] != c {
		return
	}
	c.ph.errors++
	h.release(c)
}

// release frees both users of c; the caller holds mu.
func (h *harness) release(c *call) {
	delete(h.byCaller, c.caller)
	delete(h.byCallee, c.callee)
	h.idle = append(h.idle, c.caller, c.callee)
}

// inFlight is the number of cycles not yet finished.
func (h *harness) inFlight() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.byCaller)
}

// idleUsers is the number of users free for a cycle.
func (h *harness) idleUsers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.idle)
}

// frame handles one frame read by user u.
func (h *harness) frame(u *user, f proto.Frame) {
	now := time.Now()
	switch f.Type {
	case proto.TypeInvited:
		var b proto.Invited
		if json.Unmarshal(f.Body, &b) != nil {
			return
		}
		h.mu.Lock()
		c := h.byCallee[u.idx]
		if c == nil || c.invited {
			h.mu.Unlock()
			return
		}
		c.invited = true
		c.ph.latencies = append(c.ph.latencies, now.Sub(c.sent))
		caller := h.users[c.caller]
		h.mu.Unlock()
		if err := caller.sendBody(proto.TypeCancel, proto.InviteRef{InviteID: b.InviteID}); err != nil {
			h.fail(c)
		}
	case proto.TypeInviteCancelled:
		h.mu.Lock()
		h.ended(h.byCallee[u.idx])
		h.mu.Unlock()
	case proto.TypeCallEnded:
		h.mu.Lock()
		h.ended(h.byCaller[u.idx])
		h.mu.Unlock()
	case proto.TypeError:
		h.mu.Lock()
		c := h.byCaller[u.idx]
		h.mu.Unlock()
		if c != nil {
			h.fail(c)
		}
	}
}

// ended counts one of a cycle's two ends and frees its users after the
// second; the caller holds mu.
func (h *harness) ended(c *call) {
	if c == nil {
		return
	}
	if c.ends++; c.ends == 2 {
		h.release(c)
	}
}

// lostConn notes a connection that closed before the tool closed it.
func (h *harness) lostConn(int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closing {
		h.lost++
	}
}

// close marks the end of the run, so the read loops' errors are expected.
func (h *harness) close() {
	h.mu.Lock()
	h.closing = true
	h.mu.Unlock()
	for _, u := range h.users {
		u.ws.Close()
	}
}

// drain waits until no cycle is in flight or d has passed.
func (h *harness) drain(d time.Duration) {
	deadline := time.Now().Add(d)
	for h.inFlight() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}
