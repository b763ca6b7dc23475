package server

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/termcall/termcall/internal/procstat"
)

// The open-file limit (protocol.md, Connection limits). Every socket the
// server accepts holds a file descriptor, logged in or not, and the
// process needs more for itself: the store's files, TURN sockets, logs.
// Near RLIMIT_NOFILE accept(2) fails with EMFILE, which net/http answers
// by sleeping and retrying while clients hang, and every other open fails
// too. So the server counts the sockets it has accepted and refuses
// websocket dials cleanly (HTTP 503) before the limit: strangers first,
// while reconnects of live sessions still get the last part of MaxConns.

const (
	// The default MaxConns leaves max(64, limit/16) fds to the process.
	minFDHeadroom   = 64
	fdHeadroomShare = 16
	minDefaultConns = 16
	// fallbackMaxConns is the default where the limit is unknown or
	// unlimited: the cap then never binds in practice.
	fallbackMaxConns = 1 << 20
	// reconnectShare: at most this part of MaxConns is kept for
	// reconnects (fewer if ReserveConns is smaller).
	reconnectShare = 4
	// emfileLogEvery rate-limits the warnings about a failing accept
	// and about sockets shed at the hard cap.
	emfileLogEvery = 10 * time.Second
	// hardCapSlack: sockets past MaxConns the listener still hands to
	// net/http (refusals in flight, health checks), MaxConns/32 + 8, well
	// inside the default headroom.
	hardCapSlack = 8
)

// hardCap is the open sockets past which the listener closes a new one at
// once: a flood of TCP connections that never send a request would
// otherwise hold fds up to ReadHeaderTimeout, past the HTTP-level caps.
func (o *Options) hardCap() int64 {
	return int64(o.MaxConns) + int64(o.MaxConns/32) + hardCapSlack
}

// DefaultMaxConns is MaxConns's default: this process's open-file limit
// less max(64, limit/16) fds for its own files, at least 16 (1<<20 if the
// limit is unknown or unlimited).
func DefaultMaxConns() int {
	limit, ok := openFileLimit()
	return maxConnsFor(limit, ok)
}

func maxConnsFor(limit uint64, known bool) int {
	if !known || limit > 1<<40 { // unknown or RLIM_INFINITY
		return fallbackMaxConns
	}
	headroom := max(minFDHeadroom, limit/fdHeadroomShare)
	if limit <= headroom+minDefaultConns {
		return minDefaultConns
	}
	return int(min(limit-headroom, fallbackMaxConns))
}

// RaiseOpenFileLimit raises the soft RLIMIT_NOFILE to the hard limit and
// returns the soft limit in force afterwards. Go's runtime already does
// this on Linux at startup; `serve` does it explicitly so that the limit
// it logs and sizes its caps by is the one it runs with on every system.
func RaiseOpenFileLimit() (uint64, error) { return procstat.RaiseOpenFileLimit() }

// reconnectRoom is the part of MaxConns that only reconnects of live
// sessions may use.
func (o *Options) reconnectRoom() int {
	return min(o.ReserveConns, o.MaxConns/reconnectShare)
}

// fdRefusal refuses a dial when the open sockets (this one included) are
// past what its kind may use: reconnect names a live session.
func (s *Server) fdRefusal(reconnect bool) string {
	n := int(s.openConns.Load())
	switch {
	case n > s.opts.MaxConns:
		return "server at its connection limit"
	case !reconnect && n > s.opts.MaxConns-s.opts.reconnectRoom():
		return "server near its connection limit"
	}
	return ""
}

// countingListener counts the connections it has accepted until each is
// closed, in *open, and closes new ones at once past hardCap. On EMFILE or ENFILE it logs a rate-limited warning and
// returns the error: net/http's Serve already backs off on such temporary
// errors (5 ms doubling to 1 s), so it must not sleep here as well.
type countingListener struct {
	net.Listener
	open    *atomic.Int64
	hardCap int64
	log     *slog.Logger

	mu                sync.Mutex
	lastFail, lastCut time.Time
	failed, cut       int // accepts failed, sockets cut since the last warning
}

func (l *countingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				l.warn(&l.lastFail, &l.failed, "accept: out of file descriptors", "err", err)
			}
			return nil, err
		}
		if l.open.Add(1) > l.hardCap {
			// No HTTP answer: writing one could wait on the peer.
			_ = c.Close()
			l.open.Add(-1)
			l.warn(&l.lastCut, &l.cut, "sockets past the connection limit closed at accept", "hard_cap", l.hardCap)
			continue
		}
		return &countedConn{Conn: c, open: l.open}, nil
	}
}

// warn logs msg at most every emfileLogEvery, with how often it happened.
func (l *countingListener) warn(last *time.Time, n *int, msg string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*n++
	if now := time.Now(); now.Sub(*last) >= emfileLogEvery {
		l.log.Warn(msg, append(args, "times", *n, "open_conns", l.open.Load())...)
		*last, *n = now, 0
	}
}

// countedConn gives its slot back once, on the first Close (the websocket
// library and net/http may both close a hijacked connection).
type countedConn struct {
	net.Conn
	open   *atomic.Int64
	closed atomic.Bool
}

// SyscallConn lets the poller read the socket on readiness.
func (c *countedConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.open.Add(-1)
	}
	return c.Conn.Close()
}
