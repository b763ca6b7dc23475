package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/termcall/termcall/internal/clock"
	"github.com/termcall/termcall/server/proto"
	"github.com/termcall/termcall/server/relay"
)

// Defaults for zero Options fields.
const (
	DefaultGrace        = 5 * time.Second
	DefaultPingInterval = 20 * time.Second
	DefaultPongWait     = 30 * time.Second
	DefaultRatePerSec   = 50
	DefaultRateBurst    = 100
	DefaultLoginTimeout = 10 * time.Second
	// DefaultMaxPendingPerIP allows a NAT full of clients logging in at
	// once, and keeps one host from filling the total.
	DefaultMaxPendingPerIP = 32
	DefaultReserveConns    = 64
	// The default MaxPending is a quarter of the open-file limit, so that
	// connections that never log in leave most fds to users who do.
	pendingShareOfFDs = 4
	minDefaultPending = 16
	maxDefaultPending = 16384
	// fallbackMaxPending is the default where the limit is unknown or
	// unlimited.
	fallbackMaxPending = 4096
)

// Internal limits that are not worth an option.
const (
	sendBuffer = 256 // frames queued per connection before it counts as a slow consumer
	// Websocket buffers (server.go): reads of one connection, writes
	// shared through a pool.
	readBufferSize  = 1024
	writeBufferSize = 4096
	// gorilla's smallest read buffer (a control frame's payload): what a
	// polled socket's websocket holds, never used.
	polledReadBufferSize = 125
	writeWait            = 10 * time.Second // one websocket write
	closeWait            = time.Second      // how long to wait for the peer's close frame
	maxRateErrors        = 100              // rate-limit errors before a connection is dropped
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
	// TURN, if set, runs an embedded TURN server with the server; each
	// login reply adds it to ICEServers with a credential for that user
	// (relay.Config; its Now and Logger default to the server's).
	TURN *relay.Config
	// State, if set, keeps sessions, calls and invitations across restarts
	// (durable.go; server/store keeps them in NATS JetStream). Nil keeps
	// them in memory only.
	State StateStore
	// Cluster, with State, lets several nodes share that state (cluster.go):
	// the node holding its lease serves, the others carry their clients'
	// frames to it over NATS.
	Cluster Cluster
	// Web, if set, serves every path besides /ws and /healthz: the SDK and
	// the web softphone (package web) in `termcall serve`.
	Web    http.Handler
	Logger *slog.Logger // nil discards logs
	// Clock runs the server's timers and timestamps (clock.go); nil is the
	// real clock. Tests set a fake one.
	Clock Clock

	// Connections that have not logged in (protocol.md, Connection limits).
	LoginTimeout    time.Duration // close a connection not logged in by then (4008); default 10s
	MaxPending      int           // such connections in total; default from RLIMIT_NOFILE
	MaxPendingPerIP int           // such connections per IP address (IPv6: per /64); default 32
	ReserveConns    int           // reconnects of live sessions admitted beyond the caps; default 64
	// MaxConns caps the sockets the server holds open, logged in or not
	// (fdlimit.go); default from RLIMIT_NOFILE. It holds for a server
	// that listens with Start, which counts what it accepts.
	MaxConns int

	// TLSCertFile and TLSKeyFile, both or neither, make the server serve
	// wss:// with that PEM certificate (chain) and key. New loads them, so
	// a bad pair fails at start rather than at the first handshake.
	TLSCertFile string
	TLSKeyFile  string
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

		LoginTimeout:    DefaultLoginTimeout,
		MaxPending:      DefaultMaxPending(),
		MaxPendingPerIP: DefaultMaxPendingPerIP,
		ReserveConns:    DefaultReserveConns,
		MaxConns:        DefaultMaxConns(),
	}
}

// DefaultMaxPending is MaxPending's default: a quarter of this process's
// open-file limit, within [16, 16384] (4096 if the limit is unknown).
func DefaultMaxPending() int {
	limit, ok := openFileLimit()
	return maxPendingFor(limit, ok)
}

func maxPendingFor(limit uint64, known bool) int {
	if !known || limit > 1<<40 { // unknown or RLIM_INFINITY
		return fallbackMaxPending
	}
	return int(min(max(limit/pendingShareOfFDs, minDefaultPending), maxDefaultPending))
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
	case o.LoginTimeout < 0:
		return fmt.Errorf("%w: negative login timeout", ErrInvalidOptions)
	case o.MaxPending < 0 || o.MaxPendingPerIP < 0 || o.ReserveConns < 0 || o.MaxConns < 0:
		return fmt.Errorf("%w: negative connection limit", ErrInvalidOptions)
	case (o.TLSCertFile == "") != (o.TLSKeyFile == ""):
		return fmt.Errorf("%w: TLS needs both a certificate and a key file", ErrInvalidOptions)
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
	if o.PongWait <= o.PingInterval+max(o.PingInterval/pingSlots, time.Millisecond) {
		// A pong can only arrive after a ping, and a connection's first
		// ping may come a slot of the ping wheel late (ping.go): keep the
		// deadline past that.
		o.PongWait = o.PingInterval * 3 / 2
	}
	if o.RatePerSec == 0 {
		o.RatePerSec = DefaultRatePerSec
	}
	if o.RateBurst == 0 {
		o.RateBurst = DefaultRateBurst
	}
	if o.LoginTimeout == 0 {
		o.LoginTimeout = DefaultLoginTimeout
	}
	if o.MaxPending == 0 {
		o.MaxPending = DefaultMaxPending()
	}
	if o.MaxPendingPerIP == 0 {
		o.MaxPendingPerIP = DefaultMaxPendingPerIP
	}
	if o.ReserveConns == 0 {
		o.ReserveConns = DefaultReserveConns
	}
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	groups := make(map[string][]string, len(o.Groups))
	for gid, members := range o.Groups {
		groups[gid] = append([]string(nil), members...)
	}
	o.Groups = groups
}

// tlsConfig loads the certificate and key, or returns nil without TLS.
func (o *Options) tlsConfig() (*tls.Config, error) {
	if o.TLSCertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(o.TLSCertFile, o.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: TLS certificate %s and key %s: %w", ErrInvalidOptions, o.TLSCertFile, o.TLSKeyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
