package load

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// clkTck is Linux's USER_HZ, the unit of utime and stime in /proc/PID/stat;
// it is 100 on every architecture Go supports.
const clkTck = 100

// cpuSeconds reads a process's user+system CPU time from /proc/PID/stat.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu time of %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces: fields after its closing
	// parenthesis start with state (field 3); utime and stime are 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("cpu time of %d: malformed stat line", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu time of %d: %d fields in stat line", pid, len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu time of %d: bad utime/stime %q %q", pid, f[11], f[12])
	}
	return float64(ut+st) / clkTck, nil
}

// rssKiB reads a process's resident set size from /proc/PID/status.
func rssKiB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("rss of %d: %w", pid, err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest) // "123456 kB"
		if len(f) == 2 && f[1] == "kB" {
			if kb, err := strconv.ParseFloat(f[0], 64); err == nil {
				return kb, nil
			}
		}
		return 0, fmt.Errorf("rss of %d: bad VmRSS line %q", pid, line)
	}
	return 0, fmt.Errorf("rss of %d: no VmRSS", pid)
}

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
