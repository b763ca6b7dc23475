package callcore

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Config is the engine's configuration.
type Config struct {
	ServerURL string // ws://host:port/ws or wss://
	// ServerURLs are several signaling servers (nodes sharing their
	// sessions) instead of ServerURL: set one of the two. Login takes the
	// first that answers; when that node goes away the engine reconnects
	// to another and resumes there (callcore/signal's redial).
	ServerURLs   []string
	SDKAppID     uint32        // must match the server's
	GroupTimeout int           // seconds for GroupCall invitations, default 30
	ReconnectMin time.Duration // first redial delay, default 100ms
	ReconnectMax time.Duration // longest redial delay, default 3s
	// TLS verifies wss:// servers, on login and every reconnect; nil uses
	// the system roots.
	TLS *tls.Config
}

// serverList is the signaling servers cfg names, one or several.
func serverList(cfg Config) ([]string, error) {
	switch {
	case cfg.ServerURL != "" && len(cfg.ServerURLs) > 0:
		return nil, fmt.Errorf("%w: both ServerURL and ServerURLs", ErrInvalidArgument)
	case cfg.ServerURL != "":
		return []string{cfg.ServerURL}, nil
	case len(cfg.ServerURLs) == 0:
		return nil, fmt.Errorf("%w: empty server URL", ErrInvalidArgument)
	}
	for i, u := range cfg.ServerURLs {
		if u == "" {
			return nil, fmt.Errorf("%w: server URL %d of %d is empty", ErrInvalidArgument, i+1, len(cfg.ServerURLs))
		}
	}
	return slices.Clone(cfg.ServerURLs), nil
}

// Defaults for zero Config fields.
const (
	DefaultGroupTimeout = 30
	DefaultReconnectMin = 100 * time.Millisecond
	DefaultReconnectMax = 3 * time.Second
)

// Option injects a dependency into the engine.
type Option func(*options)

type options struct {
	logger  *slog.Logger
	media   MediaFactory
	devices DeviceManager // devices.go
}

// WithLogger sets the engine's logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithMedia plugs in the media layer. Without it the engine does signaling
// only and USER_ENTER fires when a member joins the call.
func WithMedia(f MediaFactory) Option { return func(o *options) { o.media = f } }
