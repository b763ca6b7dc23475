package server

import "github.com/termcall/termcall/internal/clock"

// Clock is the time source of the server's state machine: invitation
// timeouts, the resume grace, the login deadline, rate-limit refills, call
// durations, server times and userSig expiry all read it, so that tests can
// drive them with a fake clock. Socket deadlines and websocket pings stay
// on real time: they measure the network, not the state machine.
type Clock = clock.Clock

// Timer is a timer started by Clock.AfterFunc.
type Timer = clock.Timer
