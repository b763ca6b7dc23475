//go:build !unix

package server

import "errors"

// openFileLimit is unknown here; DefaultMaxPending falls back to a fixed cap.
func openFileLimit() (uint64, bool) { return 0, false }

func raiseOpenFileLimit() (uint64, error) {
	return 0, errors.New("no RLIMIT_NOFILE on this system")
}
