package server

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock that moves only when a test advances it. Timers
// fire from Advance, in the caller's goroutine, in the order of their
// deadlines (then of their creation), so a test knows that everything a
// timer does has happened when Advance returns.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*fakeTimer // pending
}

type fakeTimer struct {
	c    *fakeClock
	when time.Time
	seq  uint64
	f    func()
}

// newFakeClock starts at the real time, so that userSigs made with
// usersig.GenerateNow are valid on it.
func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Now().Round(0)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc arms a timer; one with d <= 0 is due at once and fires at the
// next Advance, even Advance(0).
func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, when: c.now.Add(max(d, 0)), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	n := len(t.c.timers)
	t.c.timers = slices.DeleteFunc(t.c.timers, func(p *fakeTimer) bool { return p == t })
	return len(t.c.timers) < n
}

// Advance moves the clock d forward, firing every timer that falls due on
// the way, including those armed by the callbacks it runs. Callbacks run
// without the clock's lock held: they take the server's lock, and arm and
// stop timers.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		t := c.popDueLocked(end)
		if t == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		if t.when.After(c.now) {
			c.now = t.when
		}
		c.mu.Unlock()
		t.f()
	}
}

// popDueLocked removes and returns the first timer due by end, or nil.
func (c *fakeClock) popDueLocked(end time.Time) *fakeTimer {
	i := -1
	for j, t := range c.timers {
		if t.when.After(end) {
			continue
		}
		if i < 0 || t.when.Before(c.timers[i].when) || (t.when.Equal(c.timers[i].when) && t.seq < c.timers[i].seq) {
			i = j
		}
	}
	if i < 0 {
		return nil
	}
	t := c.timers[i]
	c.timers = slices.Delete(c.timers, i, i+1)
	return t
}

// next reports how far ahead the first pending timer is.
func (c *fakeClock) next() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return 0, false
	}
	first := c.timers[0].when
	for _, t := range c.timers[1:] {
		if t.when.Before(first) {
			first = t.when
		}
	}
	return max(first.Sub(c.now), 0), true
}

// clockOf returns the fake clock of a test server.
func clockOf(t *testing.T, s *Server) *fakeClock {
	t.Helper()
	c, ok := s.clock.(*fakeClock)
	if !ok {
		t.Fatalf("the server runs on %T, not a fake clock", s.clock)
	}
	return c
}

func TestFakeClock(t *testing.T) {
	c := newFakeClock()
	start := c.Now()
	var fired []string
	at := func(name string) func() {
		return func() { fired = append(fired, name+"@"+c.Now().Sub(start).String()) }
	}
	c.AfterFunc(3*time.Second, at("c"))
	c.AfterFunc(time.Second, at("a"))
	c.AfterFunc(time.Second, at("b")) // same deadline: creation order
	stopped := c.AfterFunc(2*time.Second, at("never"))
	// A callback arms a timer due within the same Advance and stops one.
	var late Timer
	c.AfterFunc(1500*time.Millisecond, func() {
		at("arming")()
		c.AfterFunc(time.Second, at("armed"))
		if !late.Stop() {
			t.Error("Stop of a pending timer reported false")
		}
	})
	late = c.AfterFunc(10*time.Second, at("late"))
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop: want true, then false")
	}

	c.Advance(999 * time.Millisecond)
	if len(fired) != 0 {
		t.Fatalf("fired early: %v", fired)
	}
	c.Advance(2001 * time.Millisecond)
	want := []string{"a@1s", "b@1s", "arming@1.5s", "armed@2.5s", "c@3s"}
	if !slices.Equal(fired, want) {
		t.Fatalf("fired %v, want %v", fired, want)
	}
	if got := c.Now().Sub(start); got != 3*time.Second {
		t.Fatalf("now is start+%v, want +3s", got)
	}
	if _, ok := c.next(); ok {
		t.Fatal("timers left after all fired or were stopped")
	}

	// A due timer fires at the next Advance, and may use the clock.
	c.AfterFunc(0, func() { c.AfterFunc(time.Second, func() {}) })
	if d, ok := c.next(); !ok || d != 0 {
		t.Fatalf("next = %v, %v; want 0, true", d, ok)
	}
	c.Advance(0)
	if d, ok := c.next(); !ok || d != time.Second {
		t.Fatalf("next = %v, %v; want 1s, true", d, ok)
	}
}
