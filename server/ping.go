package server

import (
	"sync"
	"time"
)

// pingSlots is how many groups the ping wheel spreads connections over,
// round robin: each tick pings one group, so pings go out in small batches
// all along the interval instead of one burst (or one timer per
// connection). With 8 groups filled by arrival, 18k users who logged in
// within 4 s shared two groups, and 9,000 pings (and pongs) at once put
// 200 ms into invite latency's p99 every 20 s. With 64 groups a tick
// (every 312 ms) still pinged 156 connections at once at 10k users, 280
// at 18k, ~40 µs each with its pong: a burst of 6-11 ms that invitations
// queued behind, p99 at 4,000/s growing with the users. 1,024 groups
// tick every ~20 ms with 10-18 pings each.
const pingSlots = 1024

// pingWheel pings every connection (its outbox) about once per interval
// from one goroutine, which runs from Start (or the first connection of a
// server mounted through Handler) until stop.
type pingWheel struct {
	interval time.Duration

	mu      sync.Mutex
	slots   []map[*outbox]struct{} // pingSlots, fewer for intervals under pingSlots ms
	last    int                    // the slot pinged last
	next    int                    // the slot the next connection goes to
	started bool                   // the goroutine runs (or ran)
	quit    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

func newPingWheel(interval time.Duration) *pingWheel {
	n := min(pingSlots, max(1, int(interval/time.Millisecond))) // ticks of 1 ms at least
	w := &pingWheel{interval: interval, slots: make([]map[*outbox]struct{}, n), quit: make(chan struct{})}
	for i := range w.slots {
		w.slots[i] = make(map[*outbox]struct{})
	}
	return w
}

// add puts c in the next slot round robin: its first ping comes within
// interval*(1+1/pingSlots) of its connecting (PongWait allows for it,
// opts.go).
func (w *pingWheel) add(c *outbox) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c.pingSlot = w.next
	w.next = (w.next + 1) % len(w.slots)
	w.slots[c.pingSlot][c] = struct{}{}
	w.startLocked()
}

// start starts the goroutine if it is not running yet: Start does, so
// that the server's own goroutines all run once it listens; a server
// mounted through Handler gets it with its first connection.
func (w *pingWheel) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.startLocked()
}

func (w *pingWheel) startLocked() {
	if !w.started {
		w.started = true
		w.wg.Add(1)
		go w.run()
	}
}

func (w *pingWheel) remove(c *outbox) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.slots[c.pingSlot], c)
}

func (w *pingWheel) run() {
	defer w.wg.Done()
	t := time.NewTicker(max(time.Millisecond, w.interval/time.Duration(len(w.slots))))
	defer t.Stop()
	var due []*outbox
	for {
		select {
		case <-w.quit:
			return
		case <-t.C:
		}
		w.mu.Lock()
		w.last = (w.last + 1) % len(w.slots)
		for c := range w.slots[w.last] {
			due = append(due, c)
		}
		w.mu.Unlock()
		for _, c := range due {
			c.ping()
		}
		clear(due) // no closed connection kept alive by the scratch
		due = due[:0]
	}
}

// stop ends the goroutine and waits for it.
func (w *pingWheel) stop() {
	w.once.Do(func() { close(w.quit) })
	w.wg.Wait()
}
