// Package logging holds what termcall's packages share about slog.
package logging

import (
	"context"
	"log/slog"
)

// WithLevel returns h behind a level that can change at run time: records
// below level are dropped before h sees them.
func WithLevel(h slog.Handler, level *slog.LevelVar) slog.Handler {
	return levelHandler{Handler: h, level: level}
}

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
