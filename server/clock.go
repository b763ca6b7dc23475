package server

import "time"

// Clock is the time source of the server's state machine: invitation
// timeouts, the resume grace, the login deadline, rate-limit refills, call
// durations, server times and userSig expiry all read it, so that tests can
// drive them with a fake clock. Socket deadlines and websocket pings stay
// on real time: they measure the network, not the state machine.
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

// realClock is the default Clock, the time package's.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
