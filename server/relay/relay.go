// Package relay is termcall's embedded TURN server (pion/turn), handing
// out short-lived per-user credentials in the TURN REST scheme:
//
//	username   = "<expiry unix seconds>:<userID>"
//	credential = base64(HMAC-SHA1(key, username))
//
// The key never leaves the server: clients get a username and credential
// at login, and the TURN server recomputes the credential to check them.
package relay

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // the TURN REST scheme is HMAC-SHA1
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"
	"golang.org/x/time/rate"

	"github.com/termcall/termcall/server/proto"
)

// Defaults for zero Config fields.
const (
	DefaultTTL              = 12 * time.Hour
	DefaultMaxAllocsPerUser = 16 // 8 peers of a call, each allocating over UDP and TCP
	// DefaultUserBitrate is enough for a 720p call with three others
	// relayed both ways, not for one user to fill the server's uplink.
	DefaultUserBitrate = 8_000_000
	Realm              = "termcall"
	keyLen             = 32
	// maxExpiryDigits bounds the expiry field: unix seconds have 10 digits
	// until 2286; more is garbage, not a time.
	maxExpiryDigits = 12
)

// ErrConfig is wrapped by errors of an unusable Config.
var ErrConfig = errors.New("relay: invalid configuration")

// Config configures a Server.
type Config struct {
	// Addr is HOST:PORT the TURN server listens on, UDP and TCP. Port 0
	// picks a free one (the same for both).
	Addr string
	// ExternalIP is the address relays are announced on and clients are
	// told to dial, when it differs from Addr's host (behind 1:1 NAT).
	ExternalIP net.IP
	// MinPort and MaxPort bound relay ports; both zero lets the OS pick.
	MinPort, MaxPort uint16
	// Key signs credentials; empty picks a random one, so credentials do
	// not survive a restart.
	Key []byte
	// TTL is how long a credential is valid from login. An allocation is
	// refreshed with the credential it was made with, so a call that
	// outlives it loses the relay.
	TTL time.Duration
	// MaxAllocsPerUser caps one userID's concurrent allocations.
	MaxAllocsPerUser int
	// UserBitrate caps what the relay carries for one user, in bits per
	// second, over all of their allocations and both directions: a
	// datagram over it is dropped (media's congestion control then backs
	// off). 0 means DefaultUserBitrate; negative means no cap.
	UserBitrate int
	// TLS, with TLSPort, serves TURN over TLS (turns:) on HOST:TLSPort
	// (0: a free port), for networks that let only TLS out. TLSName is the host name in the
	// turns: URL, which the certificate must carry; empty means the
	// certificate's first DNS name, else the relay address.
	TLS     *tls.Config
	TLSPort int
	TLSName string
	// WantTLS asks the signaling server to fill TLS with its own
	// certificate (serve --turn-tls-port).
	WantTLS bool
	// LoggedIn reports whether userID has a session on the signaling
	// server. When set, a credential works only while its user is logged
	// in: one that leaked, or outlived a logout, allocates nothing, and
	// the allocations it made die at their next refresh. nil: any valid
	// credential works until it expires.
	LoggedIn func(userID string) bool
	// Now is the clock credentials are issued and checked by; nil is
	// time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Server is a running TURN server.
type Server struct {
	cfg     Config
	host    string // host in the URLs handed to clients
	port    int
	turn    *turn.Server
	udp     net.PacketConn
	tcp     net.Listener
	tls     net.Listener // nil without Config.TLS
	tlsName string
	tlsPort int

	mu      sync.Mutex
	allocs  map[string]int           // userID -> live allocations
	limits  map[string]*rate.Limiter // userID -> relayed bytes budget, while they have allocations
	dropped atomic.Int64             // datagrams dropped over a user's bitrate
}

// Start listens on cfg.Addr (UDP and TCP) and serves TURN.
func Start(cfg Config) (*Server, error) {
	host, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("%w: address %q: %w", ErrConfig, cfg.Addr, err)
	}
	bindIP := net.ParseIP(host)
	if host != "" && bindIP == nil {
		return nil, fmt.Errorf("%w: address %q: host must be an IP address", ErrConfig, cfg.Addr)
	}
	relayIP := cfg.ExternalIP
	if relayIP == nil {
		if bindIP == nil || bindIP.IsUnspecified() {
			return nil, fmt.Errorf("%w: %q binds every address: set an external IP to announce", ErrConfig, cfg.Addr)
		}
		relayIP = bindIP
	}
	if (cfg.MinPort == 0) != (cfg.MaxPort == 0) || cfg.MinPort > cfg.MaxPort {
		return nil, fmt.Errorf("%w: relay port range %d-%d", ErrConfig, cfg.MinPort, cfg.MaxPort)
	}
	if cfg.TTL < 0 || cfg.MaxAllocsPerUser < 0 {
		return nil, fmt.Errorf("%w: negative TTL or allocation cap", ErrConfig)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MaxAllocsPerUser == 0 {
		cfg.MaxAllocsPerUser = DefaultMaxAllocsPerUser
	}
	if cfg.UserBitrate == 0 {
		cfg.UserBitrate = DefaultUserBitrate
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Key) == 0 {
		cfg.Key = make([]byte, keyLen)
		if _, err := rand.Read(cfg.Key); err != nil {
			return nil, fmt.Errorf("relay: random key: %w", err)
		}
	} else {
		cfg.Key = append([]byte(nil), cfg.Key...)
	}
	if _, err := strconv.ParseUint(portStr, 10, 16); err != nil {
		return nil, fmt.Errorf("%w: port %q", ErrConfig, portStr)
	}

	udp, tcp, err := listenBoth(cfg.Addr, host, portStr == "0")
	if err != nil {
		return nil, err
	}
	port := udp.LocalAddr().(*net.UDPAddr).Port

	s := &Server{cfg: cfg, host: relayIP.String(), port: port, udp: udp, tcp: tcp,
		allocs: make(map[string]int), limits: make(map[string]*rate.Limiter)}
	listeners := []net.Listener{tcp}
	if cfg.TLS != nil {
		if cfg.TLSPort < 0 || cfg.TLSPort > 65535 {
			_ = udp.Close()
			_ = tcp.Close()
			return nil, fmt.Errorf("%w: TLS port %d", ErrConfig, cfg.TLSPort)
		}
		tl, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(cfg.TLSPort)))
		if err != nil {
			_ = udp.Close()
			_ = tcp.Close()
			return nil, fmt.Errorf("relay: listen tls: %w", err)
		}
		s.tlsPort = tl.Addr().(*net.TCPAddr).Port
		s.tls = tls.NewListener(tl, cfg.TLS)
		s.tlsName = tlsName(cfg, relayIP)
		listeners = append(listeners, s.tls)
	}
	bindAddr := host
	if bindAddr == "" {
		bindAddr = "0.0.0.0"
	}
	var gen turn.RelayAddressGenerator = &turn.RelayAddressGeneratorStatic{RelayAddress: relayIP, Address: bindAddr}
	if cfg.MinPort != 0 {
		gen = &turn.RelayAddressGeneratorPortRange{
			RelayAddress: relayIP, Address: bindAddr, MinPort: cfg.MinPort, MaxPort: cfg.MaxPort,
		}
	}
	if cfg.UserBitrate > 0 {
		gen = &limitedGen{RelayAddressGenerator: gen, s: s}
	}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	ts, err := turn.NewServer(turn.ServerConfig{
		Realm:             Realm,
		LoggerFactory:     lf,
		AuthHandler:       s.authenticate,
		QuotaHandler:      s.quota,
		EventHandler:      turn.EventHandler{OnAllocationCreated: s.created, OnAllocationDeleted: s.deleted},
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: udp, RelayAddressGenerator: gen}},
		ListenerConfigs:   listenerConfigs(listeners, gen),
	})
	if err != nil {
		_ = udp.Close()
		for _, l := range listeners {
			_ = l.Close()
		}
		return nil, fmt.Errorf("relay: %w", err)
	}
	s.turn = ts
	cfg.Logger.Info("turn listening", "addr", udp.LocalAddr().String(), "relay", relayIP.String())
	return s, nil
}

// listenBoth binds UDP at addr and TCP on the same port, so that one
// HOST:PORT names both. With port 0 the OS picks the UDP port, whose TCP
// twin may be taken: then it tries a few other ports.
func listenBoth(addr, host string, anyPort bool) (net.PacketConn, net.Listener, error) {
	const tries = 8
	for i := 0; ; i++ {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("relay: listen udp %s: %w", addr, err)
		}
		port := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err == nil {
			return udp, tcp, nil
		}
		_ = udp.Close()
		if !anyPort || i == tries-1 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, fmt.Errorf("relay: listen tcp %s: %w", addr, err)
		}
	}
}

func listenerConfigs(ls []net.Listener, gen turn.RelayAddressGenerator) []turn.ListenerConfig {
	out := make([]turn.ListenerConfig, 0, len(ls))
	for _, l := range ls {
		out = append(out, turn.ListenerConfig{Listener: l, RelayAddressGenerator: gen})
	}
	return out
}

// tlsName is the host of the turns: URL: the configured name, or the
// certificate's first DNS name (clients verify it), or the relay IP.
func tlsName(cfg Config, relayIP net.IP) string {
	if cfg.TLSName != "" {
		return cfg.TLSName
	}
	if len(cfg.TLS.Certificates) > 0 && len(cfg.TLS.Certificates[0].Certificate) > 0 {
		if c, err := x509.ParseCertificate(cfg.TLS.Certificates[0].Certificate[0]); err == nil && len(c.DNSNames) > 0 {
			return c.DNSNames[0]
		}
	}
	return relayIP.String()
}

// TLSAddr is the bound turns: address (nil without TLS).
func (s *Server) TLSAddr() net.Addr {
	if s.tls == nil {
		return nil
	}
	return s.tls.Addr()
}

// Addr is the bound UDP address (also the TCP one).
func (s *Server) Addr() *net.UDPAddr { return s.udp.LocalAddr().(*net.UDPAddr) }

// Close stops the server and frees every allocation.
func (s *Server) Close() error {
	if err := s.turn.Close(); err != nil {
		return fmt.Errorf("relay: close: %w", err)
	}
	return nil
}

// ICEServer returns the TURN server entry for userID's login reply, with a
// credential valid for the TTL from now.
func (s *Server) ICEServer(userID string) proto.ICEServer {
	user := Username(s.cfg.Now().Add(s.cfg.TTL), userID)
	hp := net.JoinHostPort(s.host, strconv.Itoa(s.port))
	urls := []string{"turn:" + hp + "?transport=udp", "turn:" + hp + "?transport=tcp"}
	if s.tls != nil {
		urls = append(urls, "turns:"+net.JoinHostPort(s.tlsName, strconv.Itoa(s.tlsPort))+"?transport=tcp")
	}
	return proto.ICEServer{
		URLs:       urls,
		Username:   user,
		Credential: Credential(s.cfg.Key, user),
	}
}

// Allocations returns userID's live allocations.
func (s *Server) Allocations(userID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.allocs[userID]
}

// Username is the TURN REST username for userID valid until expiry.
func Username(expiry time.Time, userID string) string {
	return strconv.FormatInt(expiry.Unix(), 10) + ":" + userID
}

// Credential is base64(HMAC-SHA1(key, username)).
func Credential(key []byte, username string) string {
	mac := hmac.New(sha1.New, key)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ParseUsername splits a TURN REST username into its expiry and userID.
// It refuses anything but decimal seconds, one colon and a valid userID.
func ParseUsername(username string) (expiry time.Time, userID string, err error) {
	exp, id, ok := strings.Cut(username, ":")
	if !ok {
		return time.Time{}, "", fmt.Errorf("username %q: no expiry", username)
	}
	if exp == "" || len(exp) > maxExpiryDigits {
		return time.Time{}, "", fmt.Errorf("username %q: bad expiry", username)
	}
	for _, r := range exp { // ParseInt would take a sign
		if r < '0' || r > '9' {
			return time.Time{}, "", fmt.Errorf("username %q: bad expiry", username)
		}
	}
	secs, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("username %q: %w", username, err)
	}
	if !proto.ValidUserID(id) {
		return time.Time{}, "", fmt.Errorf("username %q: invalid userID", username)
	}
	return time.Unix(secs, 0), id, nil
}

// authenticate is the TURN AuthHandler: the userID it returns keys the
// quota and the allocation events.
func (s *Server) authenticate(ra *turn.RequestAttributes) (string, []byte, bool) {
	expiry, userID, err := ParseUsername(ra.Username)
	if err != nil {
		s.cfg.Logger.Debug("turn auth refused", "src", ra.SrcAddr, "err", err)
		return "", nil, false
	}
	if !s.cfg.Now().Before(expiry) {
		s.cfg.Logger.Debug("turn auth refused", "src", ra.SrcAddr, "user", userID, "err", "expired")
		return "", nil, false
	}
	if s.cfg.LoggedIn != nil && !s.cfg.LoggedIn(userID) {
		s.cfg.Logger.Debug("turn auth refused", "src", ra.SrcAddr, "user", userID, "err", "not logged in")
		return "", nil, false
	}
	// A wrong credential fails the MESSAGE-INTEGRITY check against this key.
	return userID, turn.GenerateAuthKey(ra.Username, ra.Realm, Credential(s.cfg.Key, ra.Username)), true
}

// quota refuses a new allocation (486) once userID holds the cap. It counts
// allocations made, so simultaneous requests may overshoot it by the few in
// flight.
func (s *Server) quota(userID, _ string, src net.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.allocs[userID] >= s.cfg.MaxAllocsPerUser {
		s.cfg.Logger.Info("turn quota reached", "user", userID, "src", src)
		return false
	}
	return true
}

func (s *Server) created(_, _ net.Addr, _, userID, _ string, _ net.Addr, _ int) {
	s.mu.Lock()
	s.allocs[userID]++
	s.mu.Unlock()
}

func (s *Server) deleted(_, _ net.Addr, _, userID, _ string) {
	s.mu.Lock()
	if s.allocs[userID]--; s.allocs[userID] <= 0 {
		delete(s.allocs, userID)
		delete(s.limits, userID)
	}
	s.mu.Unlock()
}

// Dropped counts datagrams dropped because their user was over the
// bitrate cap.
func (s *Server) Dropped() int64 { return s.dropped.Load() }

// limiter is userID's shared budget of relayed bytes.
func (s *Server) limiter(userID string) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limits[userID]
	if l == nil {
		bytes := s.cfg.UserBitrate / 8
		// A burst of a quarter second: a keyframe passes, a flood does not.
		l = rate.NewLimiter(rate.Limit(bytes), max(bytes/4, 1500))
		s.limits[userID] = l
	}
	return l
}

// limitedGen gives every relay socket its user's byte budget.
type limitedGen struct {
	turn.RelayAddressGenerator
	s *Server
}

func (g *limitedGen) AllocatePacketConn(conf turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	conn, addr, err := g.RelayAddressGenerator.AllocatePacketConn(conf)
	if err != nil {
		return nil, nil, err //nolint:wrapcheck // pion's own error, as pion expects
	}
	return &limitedConn{PacketConn: conn, lim: g.s.limiter(conf.UserID), dropped: &g.s.dropped}, addr, nil
}

// limitedConn drops relayed datagrams, in and out, over the budget.
type limitedConn struct {
	net.PacketConn
	lim     *rate.Limiter
	dropped *atomic.Int64
}

func (c *limitedConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil || c.lim.AllowN(time.Now(), n) {
			return n, addr, err //nolint:wrapcheck // the socket's own error, for pion
		}
		c.dropped.Add(1)
	}
}

func (c *limitedConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if !c.lim.AllowN(time.Now(), len(p)) {
		c.dropped.Add(1)
		return len(p), nil // dropped as a congested link would
	}
	return c.PacketConn.WriteTo(p, addr) //nolint:wrapcheck // the socket's own error, for pion
}
