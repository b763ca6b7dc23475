// Package client turns configuration into a call engine with media, ready
// to log in: the one place where the TUI, headless mode, the echo contact
// and the demo build theirs. It resolves the userSig (from a secret if
// need be), opens the media devices or their stand-ins, checks the ICE
// servers, and owns the order of shutdown (the engine first, then the
// devices it was using).
package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/callcore/media"
	"github.com/termcall/termcall/callcore/signal"
	"github.com/termcall/termcall/config/usersig"
	"github.com/termcall/termcall/internal/logging"
)

// DefaultUserSigExpire is the validity of a userSig made from a secret.
const DefaultUserSigExpire = 24 * time.Hour

// Options configure a Client.
type Options struct {
	Server string // ws://HOST:PORT/ws, or wss:// for a server with TLS
	// Servers are several nodes of one service instead of Server (set one
	// of the two): the engine logs in to the first that answers and fails
	// over to another when its node goes away.
	Servers []string
	// CAFile is a PEM file of CA certificates trusted for wss:// besides
	// the system roots (a self-signed server's own certificate works too).
	CAFile   string
	SDKAppID uint32
	UserID   string
	// UserSig logs in; without it one is made from Secret, valid for
	// UserSigExpire (default DefaultUserSigExpire).
	UserSig       string
	Secret        string
	UserSigExpire time.Duration
	// Self is sent with SetSelfInfo after each Login, when set.
	Self         callcore.SelfInfo
	GroupTimeout int // seconds of ringing for GroupCall (default 30)
	// Media is nil for a signaling-only client, whose USER_ENTER fires when
	// a member joins instead of when media with them connects.
	Media  *MediaSpec
	Logger *slog.Logger // default: discard
}

// Client is a call engine with its media.
type Client struct {
	// Engine is the call engine; use it for everything but Login and Close.
	Engine *callcore.Engine
	// Factory is the media layer (nil without media), for stats snapshots.
	Factory *media.Factory
	// Notes say which stand-ins replace missing devices, for the user.
	Notes []string
	// Problems are ERROR payloads to show from the start: configured ICE
	// servers that cannot be used (the others are used).
	Problems []callcore.Error

	opts  Options
	sig   string
	log   *slog.Logger // Options.Logger behind the client's level
	level *slog.LevelVar
	media *mediaParts
}

// New builds the engine and opens the media. It does not connect: Login
// does. A missing device (without MediaSpec.StandIns) is an error carrying
// TRTCCalling's code: see callcore.ErrorCode.
func New(o Options) (*Client, error) {
	if o.UserID == "" {
		return nil, fmt.Errorf("%w: no user ID", callcore.ErrInvalidArgument)
	}
	sig := o.UserSig
	if sig == "" {
		if o.Secret == "" {
			return nil, fmt.Errorf("%w: a userSig or the secret to make one is needed", callcore.ErrInvalidArgument)
		}
		exp := o.UserSigExpire
		if exp == 0 {
			exp = DefaultUserSigExpire
		}
		var err error
		if sig, err = usersig.GenerateNow(o.Secret, o.SDKAppID, o.UserID, exp); err != nil {
			return nil, fmt.Errorf("make userSig: %w", err)
		}
	}
	base := o.Logger
	if base == nil {
		base = slog.New(slog.DiscardHandler)
	}
	// One level for everything the client logs, media included: the engine's
	// own SetLogLevel would not reach the media layer's logger.
	level := new(slog.LevelVar)
	level.Set(slog.LevelDebug)
	log := slog.New(logging.WithLevel(base.Handler(), level))

	tlsCfg, err := loadTLS(o.CAFile)
	if err != nil {
		return nil, err
	}
	c := &Client{opts: o, sig: sig, log: log, level: level}
	engOpts := []callcore.Option{callcore.WithLogger(log)}
	if o.Media != nil {
		mp, err := buildMedia(*o.Media, log.With("component", "media"))
		if err != nil {
			return nil, fmt.Errorf("media: %w", err)
		}
		c.media, c.Factory, c.Notes, c.Problems = mp, mp.factory, mp.notes, mp.problems
		engOpts = append(engOpts, callcore.WithMedia(mp.factory))
		if mp.devices != nil {
			engOpts = append(engOpts, callcore.WithDevices(mp.devices))
		}
	}
	eng, err := callcore.New(callcore.Config{ServerURL: o.Server, ServerURLs: o.Servers, SDKAppID: o.SDKAppID, GroupTimeout: o.GroupTimeout, TLS: tlsCfg}, engOpts...)
	if err != nil {
		if c.media != nil {
			_ = c.media.close()
		}
		return nil, fmt.Errorf("engine: %w", err)
	}
	c.Engine = eng
	return c, nil
}

// UserID is who the client logs in as.
func (c *Client) UserID() string { return c.opts.UserID }

// UserSig is the userSig the client logs in with (made from the secret if
// none was given).
func (c *Client) UserSig() string { return c.sig }

// Login logs in and then sets the self info, if any. A refused self info
// is logged, not fatal: the user is logged in.
func (c *Client) Login(ctx context.Context) error {
	if err := ExplainLogin(c.Engine.Login(ctx, c.opts.UserID, c.sig)); err != nil {
		return err
	}
	if c.opts.Self != (callcore.SelfInfo{}) {
		if err := c.Engine.SetSelfInfo(ctx, c.opts.Self); err != nil {
			return fmt.Errorf("set self info: %w", err)
		}
	}
	return nil
}

// ExplainLogin adds the way out to a login error the user can fix
// themselves: a certificate that is not trusted needs --ca (or the config
// key ca). Other errors, and nil, are returned as they are.
func ExplainLogin(err error) error {
	if errors.Is(err, signal.ErrUntrustedCert) {
		return fmt.Errorf("%w (if the server's certificate is your own or self-signed, pass its CA with --ca FILE or the config key ca)", err)
	}
	return err
}

// SetSelf changes the self info sent after each later Login.
func (c *Client) SetSelf(info callcore.SelfInfo) { c.opts.Self = info }

// Logger is Options.Logger behind the client's level: a shell logging
// through it is silenced by SetLogLevel along with the engine and media.
func (c *Client) Logger() *slog.Logger { return c.log }

// SetLogLevel changes the level of everything the client logs.
func (c *Client) SetLogLevel(l slog.Level) { c.level.Set(l) }

// Close logs out, stops the engine, then releases the devices and files
// the media used.
func (c *Client) Close() error {
	err := c.Engine.Close()
	if c.media != nil {
		if merr := c.media.close(); merr != nil {
			err = errors.Join(err, fmt.Errorf("close media: %w", merr))
		}
	}
	return err
}

// loadTLS returns the TLS config trusting caFile besides the system roots,
// or nil (the system roots alone) when caFile is empty.
func loadTLS(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("%w: CA file: %w", callcore.ErrInvalidArgument, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		// No system roots here (or none readable): the CA file alone.
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%w: CA file %s: no PEM certificate in it", callcore.ErrInvalidArgument, caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
