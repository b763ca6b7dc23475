//go:build unix

package server

import (
	"fmt"
	"syscall"
)

// openFileLimit is the soft RLIMIT_NOFILE (Go raises it to the hard limit
// at startup on Linux).
func openFileLimit() (uint64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false
	}
	return uint64(rl.Cur), true //nolint:unconvert // int64 on some BSDs
}

func raiseOpenFileLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	if rl.Cur < rl.Max {
		want := rl
		want.Cur = rl.Max
		// macOS refuses a soft limit past OPEN_MAX even under an
		// unlimited hard one: keep the old limit then, it still works.
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return uint64(rl.Cur), fmt.Errorf("setrlimit %d: %w", want.Cur, err) //nolint:unconvert
		}
		rl = want
	}
	return uint64(rl.Cur), nil //nolint:unconvert // int64 on some BSDs
}
