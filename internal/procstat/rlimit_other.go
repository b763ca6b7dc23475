//go:build !unix

package procstat

import "errors"

// RaiseOpenFileLimit: there is no RLIMIT_NOFILE here.
func RaiseOpenFileLimit() (uint64, error) {
	return 0, errors.New("no RLIMIT_NOFILE on this system")
}
