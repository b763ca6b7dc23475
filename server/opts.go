package server

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/termcall/termcall/server/proto"
)

// Defaults for zero Options fields.
const (
	DefaultGrace        = 5 * time.Second
	DefaultPingInterval = 20 * time.Second
	DefaultPongWait     = 30 * time.Second
	DefaultRatePerSec   = 50
	DefaultRateBurst    = 100
)

// Internal limits that are not worth an option.
const (
	sendBuffer    = 256              // frames queued per connection before it counts as a slow consumer
	writeWait     = 10 * time.Second // one websocket write
	closeWait     = time.Second      // how long to wait for the peer's close frame
	maxRateErrors = 100              // rate-limit errors before a connection is dropped
	// Hangup, logout, cancel and reject are never dropped by the rate
	// limit: past the budget they take from this bucket, and past it too
	// the reader waits for its next token.
	endRatePerSec = 10
	endRateBurst  = 20
	maxSessionID  = 128
)

// Options configure a Server. Zero fields get the defaults above.
type Options struct {
	Addr         string              // listen address; "127.0.0.1:0" picks a free port
	SDKAppID     uint32              // the SDKAppID userSigs must name
	Secret       string              // the TLSSigAPIv2 secret key
	Groups       map[string][]string // IM groups: groupID -> member userIDs
	Grace        time.Duration       // how long a dropped session survives; default 5s
	PingInterval time.Duration       // websocket ping period; default 20s
	PongWait     time.Duration       // drop a connection silent for this long; default 30s
	RatePerSec   float64             // frames per second per connection; default 50
	RateBurst    int                 // burst of the rate limit; default 100
	ICEServers   []proto.ICEServer   // handed to clients at login
	Logger       *slog.Logger        // nil discards logs
}

// DefaultOptions returns Options with every default filled in except the
// SDKAppID and Secret, which have no sensible default.
func DefaultOptions() Options {
	return Options{
		Addr:         proto.DefaultAddr,
		Grace:        DefaultGrace,
		PingInterval: DefaultPingInterval,
		PongWait:     DefaultPongWait,
		RatePerSec:   DefaultRatePerSec,
		RateBurst:    DefaultRateBurst,
	}
}

func (o *Options) validate() error {
	switch {
	case o.SDKAppID == 0:
		return fmt.Errorf("%w: SDKAppID is required", ErrInvalidOptions)
	case o.Secret == "":
		return fmt.Errorf("%w: Secret is required", ErrInvalidOptions)
	case o.Grace < 0 || o.PingInterval < 0 || o.PongWait < 0:
		return fmt.Errorf("%w: negative duration", ErrInvalidOptions)
	case o.RatePerSec < 0 || o.RateBurst < 0:
		return fmt.Errorf("%w: negative rate limit", ErrInvalidOptions)
	}
	for gid, members := range o.Groups {
		if gid == "" || len(gid) > 64 {
			return fmt.Errorf("%w: group ID %q must be 1-64 characters", ErrInvalidOptions, gid)
		}
		for _, m := range members {
			if !proto.ValidUserID(m) {
				return fmt.Errorf("%w: group %q: invalid userID %q", ErrInvalidOptions, gid, m)
			}
		}
	}
	return nil
}

// setBaseline fills zero fields with defaults, after validation.
func (o *Options) setBaseline() {
	if o.Addr == "" {
		o.Addr = proto.DefaultAddr
	}
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.PongWait == 0 {
		o.PongWait = DefaultPongWait
	}
	if o.PongWait <= o.PingInterval {
		// A pong can only arrive after a ping; keep the deadline past the period.
		o.PongWait = o.PingInterval * 3 / 2
	}
	if o.RatePerSec == 0 {
		o.RatePerSec = DefaultRatePerSec
	}
	if o.RateBurst == 0 {
		o.RateBurst = DefaultRateBurst
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	groups := make(map[string][]string, len(o.Groups))
	for gid, members := range o.Groups {
		groups[gid] = append([]string(nil), members...)
	}
	o.Groups = groups
}
