package load

import (
	"fmt"

	"github.com/termcall/termcall/internal/procstat"
)

// fdHeadroom is what this process needs besides one descriptor per user:
// the child server's pipes, the Go runtime, stdio.
const fdHeadroom = 200

// raiseFileLimit lifts this process's soft RLIMIT_NOFILE to the hard
// limit (the Go runtime usually has already) and checks that users
// connections fit. The started server inherits the same hard limit and
// raises its own soft limit, and holds one descriptor per user too.
func raiseFileLimit(users int) error {
	limit, err := procstat.RaiseOpenFileLimit()
	if err != nil && limit == 0 {
		return fmt.Errorf("open-file limit: %w", err)
	}
	if need := uint64(users) + fdHeadroom; need > limit {
		return fmt.Errorf("%w: %d users need %d open files in this process and as many in the server; the limit is %d (raise ulimit -n)",
			ErrTooManyUsers, users, need, limit)
	}
	return nil
}
