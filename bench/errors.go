package bench

import "errors"

// Sentinel errors.
var (
	// ErrBadOptions is an Options value Run cannot start with.
	ErrBadOptions = errors.New("bad options")
	// ErrTimeout is a step of a measurement that did not happen in time.
	ErrTimeout = errors.New("timed out")
	// ErrNoMedia means a call connected but the expected media never flowed.
	ErrNoMedia = errors.New("no media")
	// ErrClient is a headless client process that failed.
	ErrClient = errors.New("client process failed")
)
