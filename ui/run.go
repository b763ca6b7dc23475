package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"golang.org/x/sys/unix"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/config/usersig"
	"github.com/termcall/termcall/video"
)

// userSigExpire is the validity of a userSig made from the secret at start.
const userSigExpire = 24 * time.Hour

// MediaProvider builds the media layer of the TUI's engine. sinks returns
// the video sink of a view name ("local", "remote:<userID>"): the frames
// written there are drawn in the TUI's panes. A nil MediaProvider gives a
// signaling-only engine; DefaultMedia is the real one.
type MediaProvider func(cfg config.Config, sinks func(viewID string) video.Sink, log *slog.Logger) (*Media, error)

// Run starts the TUI with cfg and blocks until the user quits or ctx ends.
// Logs (and anything C libraries print on stderr) go to cfg.LogFile.
func Run(ctx context.Context, cfg config.Config, media MediaProvider) (err error) {
	logf, err := openLog(cfg.LogFile)
	if err != nil {
		return err
	}
	defer logf.Close()
	log := slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	log.Info("termcall starting", "user", cfg.User, "server", cfg.Server)

	sig := cfg.UserSig
	if sig == "" {
		if sig, err = usersig.GenerateNow(cfg.Secret, cfg.SDKAppID, cfg.User, userSigExpire); err != nil {
			return fmt.Errorf("make usersig: %w", err)
		}
	}

	var model *Model
	sinks := func(viewID string) video.Sink { return model.ViewSink(viewID) }
	opts := []callcore.Option{callcore.WithLogger(log)}
	var md Media
	if media != nil {
		m, err := media(cfg, sinks, log)
		if err != nil {
			return fmt.Errorf("media: %w", err)
		}
		md = *m
		if md.Close != nil {
			// Runs after the engine's Close (deferred below): no call uses
			// the devices any more.
			defer func() {
				if err := md.Close(); err != nil {
					log.Warn("close media", "err", err)
				}
			}()
		}
		if md.Factory != nil {
			opts = append(opts, callcore.WithMedia(md.Factory))
		}
	}
	eng, err := callcore.New(callcore.Config{ServerURL: cfg.Server, SDKAppID: cfg.SDKAppID}, opts...)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	defer func() {
		if cerr := eng.Close(); cerr != nil {
			log.Warn("engine close", "err", cerr)
		}
	}()
	// Ask the terminal about sixel only when it matters: the renderer is
	// chosen automatically.
	sixel := false
	if cfg.Renderer == "" || cfg.Renderer == "auto" {
		sixel = querySixel(os.Stdin)
		log.Info("terminal", "sixel", sixel)
	}
	model = New(eng, Options{Sixel: sixel,
		UserID: cfg.User, UserSig: sig, Contacts: cfg.Contacts, Groups: cfg.Groups,
		Renderer: cfg.Renderer, Logger: log, MediaNotes: md.Notes, Stats: md.Stats,
		Self: callcore.SelfInfo{NickName: cfg.NickName, Avatar: cfg.Avatar}, StartErrors: md.Errors,
	})
	defer model.Close()

	// C libraries (alsa) print to fd 2, which would garble the screen.
	restore := redirectStderr(logf, log)
	defer restore()

	p := tea.NewProgram(model, tea.WithAltScreen(), tea.WithContext(ctx))
	if _, err := p.Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return fmt.Errorf("tui: %w", err)
	}
	log.Info("termcall stopped")
	return nil
}

func openLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	return f, nil
}

// redirectStderr points fd 2 at f and returns the function that puts the
// old stderr back. On failure it logs and leaves stderr alone.
func redirectStderr(f *os.File, log *slog.Logger) func() {
	saved, err := unix.Dup(2)
	if err != nil {
		log.Warn("stderr not redirected", "err", err)
		return func() {}
	}
	if err := unix.Dup3(int(f.Fd()), 2, 0); err != nil {
		log.Warn("stderr not redirected", "err", err)
		_ = unix.Close(saved)
		return func() {}
	}
	return func() {
		_ = unix.Dup3(saved, 2, 0)
		_ = unix.Close(saved)
	}
}
