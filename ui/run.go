package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"golang.org/x/sys/unix"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/client"
	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/video"
)

// Run starts the TUI with cfg and blocks until the user quits or ctx ends.
// Logs (and anything C libraries print on stderr) go to cfg.LogFile.
func Run(ctx context.Context, cfg config.Config) error {
	log, logf, err := client.OpenLog(cfg.LogFile, slog.LevelDebug)
	if err != nil {
		return err
	}
	if logf != nil {
		defer logf.Close()
	}
	log.Info("termcall starting", "user", cfg.User, "server", cfg.Server)

	var model *Model
	sinks := func(viewID string) video.Sink { return model.ViewSink(viewID) }
	c, err := client.New(client.Options{
		Servers: cfg.Server, CAFile: cfg.CA, SDKAppID: cfg.SDKAppID, UserID: cfg.User, UserSig: cfg.UserSig, Secret: cfg.Secret,
		Media: mediaSpec(cfg, sinks), Logger: log,
	})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := c.Close(); cerr != nil {
			log.Warn("client close", "err", cerr)
		}
	}()
	// Ask the terminal about sixel only when it matters: the renderer is
	// chosen automatically.
	sixel := false
	if cfg.Renderer == "" || cfg.Renderer == "auto" {
		sixel = querySixel(os.Stdin)
		log.Info("terminal", "sixel", sixel)
	}
	var quality callcore.VideoQuality
	if cfg.VideoQuality != "" {
		// config.Validate checked the name.
		if quality, err = callcore.ParseVideoQuality(cfg.VideoQuality); err == nil {
			err = c.Engine.SetVideoQuality(quality)
		}
		if err != nil {
			return fmt.Errorf("video_quality: %w", err)
		}
	}
	model = New(c.Engine, Options{Sixel: sixel, VideoQuality: quality,
		UserID: cfg.User, UserSig: c.UserSig(), Contacts: cfg.Contacts, Groups: cfg.Groups,
		Renderer: cfg.Renderer, Logger: log, MediaNotes: c.Notes, Stats: factoryStats{c.Factory},
		Self: callcore.SelfInfo{NickName: cfg.NickName, Avatar: cfg.Avatar}, StartErrors: c.Problems,
	})
	defer model.Close()

	// C libraries (alsa) print to fd 2, which would garble the screen.
	if logf != nil {
		restore := redirectStderr(logf, log)
		defer restore()
	}

	p := tea.NewProgram(model, tea.WithAltScreen(), tea.WithContext(ctx))
	if _, err := p.Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return fmt.Errorf("tui: %w", err)
	}
	log.Info("termcall stopped")
	return nil
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
