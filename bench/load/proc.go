package load

import (
	"fmt"
	"syscall"
)

// fdHeadroom is what this process needs besides one descriptor per user:
// the child server's pipes, the Go runtime, stdio.
const fdHeadroom = 200

// raiseFileLimit lifts this process's soft RLIMIT_NOFILE to the hard
// limit (the Go runtime usually has already) and checks that users
// connections fit. The started server inherits the same hard limit and
// raises its own soft limit, and holds one descriptor per user too.
func raiseFileLimit(users int) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return fmt.Errorf("open-file limit: %w", err)
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return fmt.Errorf("raise open-file limit to %d: %w", rl.Max, err)
		}
	}
	if need := uint64(users) + fdHeadroom; need > uint64(rl.Cur) { //nolint:unconvert // int64 on some BSDs
		return fmt.Errorf("%w: %d users need %d open files in this process and as many in the server; the limit is %d (raise ulimit -n)",
			ErrTooManyUsers, users, need, rl.Cur)
	}
	return nil
}
