// Package procstat is what termcall asks the kernel about its processes:
// CPU profiles of its own (the --cpuprofile flags),
// CPU time and resident memory from Linux's /proc (for the benchmarks) and
// the open-file limit (for serve and the load tool).
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clkTck is Linux's USER_HZ, the unit of utime and stime in /proc/PID/stat;
// it is 100 on every architecture Go supports.
const clkTck = 100

// CPUSeconds reads a process's user+system CPU time from /proc/PID/stat.
func CPUSeconds(pid int) (float64, error) {
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

// RSSKiB reads a process's resident set size from /proc/PID/status.
func RSSKiB(pid int) (float64, error) {
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
