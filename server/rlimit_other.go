//go:build !unix

package server

// openFileLimit is unknown here; DefaultMaxPending falls back to a fixed cap.
func openFileLimit() (uint64, bool) { return 0, false }
