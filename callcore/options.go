package callcore

import (
	"crypto/tls"
	"log/slog"
	"time"
)

// Config is the engine's configuration.
type Config struct {
	ServerURL    string        // ws://host:port/ws or wss://
	SDKAppID     uint32        // must match the server's
	GroupTimeout int           // seconds for GroupCall invitations, default 30
	ReconnectMin time.Duration // first redial delay, default 100ms
	ReconnectMax time.Duration // longest redial delay, default 3s
	// TLS verifies wss:// servers, on login and every reconnect; nil uses
	// the system roots.
	TLS *tls.Config
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
