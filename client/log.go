package client

import (
	"context"
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

// levelHandler drops records below a level that can change at run time
// (Client.SetLogLevel) in front of the caller's handler.
type levelHandler struct {
	slog.Handler
	level *slog.LevelVar
}

func (h levelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level.Level() && h.Handler.Enabled(ctx, l)
}

func (h levelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return levelHandler{Handler: h.Handler.WithAttrs(as), level: h.level}
}

func (h levelHandler) WithGroup(name string) slog.Handler {
	return levelHandler{Handler: h.Handler.WithGroup(name), level: h.level}
}
