package device

import (
	"fmt"
	"os"
	"syscall"
)

// RedirectStderr points file descriptor 2 at path (appending), so that the
// errors alsa-lib prints straight to fd 2 do not garble a TUI. Call it before
// opening devices; restore puts the old stderr back. Library code never does
// this on its own.
func RedirectStderr(path string) (restore func() error, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("redirect stderr: %w", err)
	}
	defer f.Close()
	saved, err := syscall.Dup(2)
	if err != nil {
		return nil, fmt.Errorf("redirect stderr: dup: %w", err)
	}
	if err := syscall.Dup3(int(f.Fd()), 2, 0); err != nil {
		syscall.Close(saved)
		return nil, fmt.Errorf("redirect stderr: dup3: %w", err)
	}
	return func() error {
		defer syscall.Close(saved)
		if err := syscall.Dup3(saved, 2, 0); err != nil {
			return fmt.Errorf("restore stderr: %w", err)
		}
		return nil
	}, nil
}
