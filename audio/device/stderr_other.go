//go:build !linux

package device

import (
	"errors"
	"fmt"
)

// RedirectStderr is only implemented on Linux, where alsa-lib prints to fd 2.
func RedirectStderr(path string) (restore func() error, err error) {
	return nil, fmt.Errorf("redirect stderr to %s: %w", path, errors.ErrUnsupported)
}
