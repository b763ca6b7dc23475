package clock

import (
	"slices"
	"testing"
	"time"
)

func TestFakeClock(t *testing.T) {
	c := NewFake()
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
	if _, ok := c.Next(); ok {
		t.Fatal("timers left after all fired or were stopped")
	}

	// A due timer fires at the next Advance, and may use the clock.
	c.AfterFunc(0, func() { c.AfterFunc(time.Second, func() {}) })
	if d, ok := c.Next(); !ok || d != 0 {
		t.Fatalf("next = %v, %v; want 0, true", d, ok)
	}
	c.Advance(0)
	if d, ok := c.Next(); !ok || d != time.Second {
		t.Fatalf("next = %v, %v; want 1s, true", d, ok)
	}
}
