//go:build !linux

package server

import (
	"errors"
	"log/slog"
	"time"
)

// Elsewhere than Linux every connection keeps its reader goroutine
// (readLoop); poller_linux.go says why Linux does without.
type poller struct{}

type polled struct{}

func newPoller(time.Duration, *slog.Logger) (*poller, error) { return nil, errors.ErrUnsupported }

func (*poller) add(*conn, any) bool { return false }
func (*poller) close()              {}
func (*polled) stop()               {}
