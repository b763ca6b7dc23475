// Package clock is the time source termcall's state machines run on, so
// that tests can drive their timers with a fake clock instead of sleeping.
package clock

import (
	"slices"
	"sync"
	"time"
)

// Clock tells the time and runs timers.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed, unless the
	// timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a timer started by Clock.AfterFunc.
type Timer interface {
	// Stop prevents the timer from firing. It reports false if the timer
	// has already fired or been stopped; f may then still be running.
	Stop() bool
}

// Real is the time package's clock.
type Real struct{}

// Now implements Clock.
func (Real) Now() time.Time { return time.Now() }

// AfterFunc implements Clock.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Fake is a Clock that moves only when a test advances it. Timers
// fire from Advance, in the caller's goroutine, in the order of their
// deadlines (then of their creation), so a test knows that everything a
// timer does has happened when Advance returns.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*fakeTimer // pending
}

type fakeTimer struct {
	c    *Fake
	when time.Time
	seq  uint64
	f    func()
}

// NewFake returns a fake clock that starts at the real time, so that
// userSigs made with usersig.GenerateNow are valid on it.
func NewFake() *Fake {
	return &Fake{now: time.Now().Round(0)}
}

// Now implements Clock.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc arms a timer; one with d <= 0 is due at once and fires at the
// next Advance, even Advance(0).
func (c *Fake) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, when: c.now.Add(max(d, 0)), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

// Stop implements Timer.
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
func (c *Fake) Advance(d time.Duration) {
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
func (c *Fake) popDueLocked(end time.Time) *fakeTimer {
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

// Next reports how far ahead the first pending timer is.
func (c *Fake) Next() (time.Duration, bool) {
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
