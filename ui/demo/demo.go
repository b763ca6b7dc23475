// Package demo is `termcall demo`: a real call on one machine, with no
// setup. It starts an embedded signaling server on a free port and an echo
// contact, then the TUI logged in as you, with the echo contact listed.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/termcall/termcall/client"
	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/headless"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/ui"
)

// SDKAppID is the demo server's application ID.
const SDKAppID = 1400000000

// Options configure a demo.
type Options struct {
	User     string // who you are (default "me")
	Echo     string // the echo contact's userID (default "echo")
	AudioIn  string // as in the config file; "" = microphone or test tone
	AudioOut string
	VideoIn  string
	Renderer string
	LogFile  string // default: the TUI's default log file
}

// Run runs the demo until the TUI quits or ctx ends.
func Run(ctx context.Context, o Options) error {
	if o.User == "" {
		o.User = "me"
	}
	if o.Echo == "" {
		o.Echo = "echo"
	}
	if o.User == o.Echo {
		return fmt.Errorf("demo: you and the echo contact are both %q", o.User)
	}
	cfg := config.Config{
		User: o.User, SDKAppID: SDKAppID, Contacts: []string{o.Echo},
		AudioIn: o.AudioIn, AudioOut: o.AudioOut, VideoIn: o.VideoIn, Renderer: o.Renderer,
		LogFile: o.LogFile, ICELoopback: true,
	}
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return err
	}
	log, logf, err := client.OpenLog(cfg.LogFile, slog.LevelInfo)
	if err != nil {
		return err
	}
	defer logf.Close()

	// A fresh secret per run: nobody else can log in to this server.
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	cfg.Secret = hex.EncodeToString(secret)

	srv, err := server.New(server.Options{
		Addr: "127.0.0.1:0", SDKAppID: SDKAppID, Secret: cfg.Secret, Logger: log.With("part", "server"),
	})
	if err != nil {
		return fmt.Errorf("demo server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("demo server: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			log.Warn("demo server shutdown", "err", err)
		}
	}()
	cfg.Server = config.ServerList{srv.URL()}
	log.Info("demo server", "url", srv.URL())

	echoCtx, stopEcho := context.WithCancel(ctx)
	var wg sync.WaitGroup
	echoErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		eo := headless.Options{
			ServerURL: srv.URL(), SDKAppID: SDKAppID, UserID: o.Echo, Secret: cfg.Secret,
			AutoAccept: true, Logger: log.With("part", "echo"),
			Media: headless.DefaultMediaOptions(),
		}
		eo.Media.Echo, eo.Media.LoopbackICE, eo.Media.StatsEvery = true, true, 0
		echoErr <- headless.RunEcho(echoCtx, eo, io.Discard)
	}()
	defer func() {
		stopEcho()
		wg.Wait()
	}()

	err = ui.Run(ctx, cfg)
	stopEcho()
	select {
	case eerr := <-echoErr:
		if eerr != nil && !errors.Is(eerr, context.Canceled) {
			log.Warn("echo contact", "err", eerr)
		}
	default:
	}
	return err
}
