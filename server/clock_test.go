package server

import (
	"testing"

	"github.com/termcall/termcall/internal/clock"
)

// fakeClock is the fake clock test servers run on.
type fakeClock = clock.Fake

func newFakeClock() *fakeClock { return clock.NewFake() }

// clockOf returns the fake clock of a test server.
func clockOf(t *testing.T, s *Server) *fakeClock {
	t.Helper()
	c, ok := s.clock.(*fakeClock)
	if !ok {
		t.Fatalf("the server runs on %T, not a fake clock", s.clock)
	}
	return c
}
