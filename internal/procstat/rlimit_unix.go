//go:build unix

package procstat

import (
	"fmt"
	"syscall"
)

// RaiseOpenFileLimit raises the soft RLIMIT_NOFILE to the hard limit and
// returns the soft limit in force afterwards.
func RaiseOpenFileLimit() (uint64, error) {
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
