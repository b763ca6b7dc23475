package client

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// OpenLog returns a logger writing slog text to the file at path (created
// with its directory, appended to), and the file to close when done. An
// empty path discards everything.
func OpenLog(path string, level slog.Level) (*slog.Logger, *os.File, error) {
	if path == "" {
		return slog.New(slog.DiscardHandler), nil, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: level})), f, nil
}
