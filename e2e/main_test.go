// Package e2e_test holds termcall's end-to-end tests: they run the real
// binary as separate processes (termcall serve, headless clients, the TUI
// inside tmux) and assert on what a user sees: event lines, decoded media,
// the screen.
package e2e_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// binary is the termcall binary TestMain built; only read after.
var binary string //nolint:gochecknoglobals // set once by TestMain before any test runs

// TestMain builds the real termcall binary once for every test here, with
// -race when the tests themselves run with it (so that the processes
// report their own data races). A build that fails fails the package.
func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "termcall-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	binary = filepath.Join(dir, "termcall")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, "github.com/termcall/termcall")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building termcall failed: %v\n%s", err, out)
		return 1
	}
	fmt.Fprintf(os.Stderr, "built termcall (race %v) for the end-to-end tests in %v\n", raceEnabled, time.Since(start).Round(time.Millisecond))
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	return code
}

// needBinary returns the binary TestMain built.
func needBinary(*testing.T) string { return binary }
