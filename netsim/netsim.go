// Package netsim degrades a pion transport.Net on purpose: the UDP sockets
// it opens lose and delay their inbound datagrams. It is a testing aid that
// reproduces a lossy, jittery network path in-process, without network
// namespaces or tc netem.
//
// Only inbound traffic is impaired, so two impaired peers each degrade what
// they receive. Every datagram of a socket is treated alike: STUN, DTLS and
// SRTP/SRTCP, as on a real path. Each datagram is dropped with probability
// Loss, or else held for a uniformly random 0..Jitter; releasing in time
// order reorders datagrams naturally when their delays overlap.
//
// A Rate makes the Net's inbound path a link of that many bits a second,
// shared by all its sockets, as a tbf shaper makes one: datagrams queue
// behind each other and leave at the rate; one that would wait longer than
// QueueDelay is dropped (the queue is full). SetRate changes it on a live
// Net, to shape a link mid-call and lift the limit again.
//
// A Net goes wherever a transport.Net does (pion's SettingEngine.SetNet,
// termcall's rtc.Config.Net and media.Options.Net); its owner keeps it to
// read Stats. Nothing in callcore imports this package.
package netsim

import (
	"cmp"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v5"
)

// Limits of a Config.
const (
	MaxJitter = 10 * time.Second
	// DefaultQueueDelay is the shaper's queue when QueueDelay is 0: what
	// a home router's tbf holds (tc's latency).
	DefaultQueueDelay = 80 * time.Millisecond
	// ipUDPOverhead is what IPv4 and UDP headers add to a datagram on
	// the link.
	ipUDPOverhead = 28
)

// Config is an impairment. The zero value impairs nothing.
type Config struct {
	// Loss is the probability, 0..1, that an inbound datagram is dropped.
	Loss float64
	// Jitter is the largest extra delay of an inbound datagram; each one is
	// delayed by a uniformly random 0..Jitter.
	Jitter time.Duration
	// InOrder keeps arrival order under jitter: a datagram is never
	// released before one that arrived earlier, as on a queueing link
	// (real paths seldom reorder). Without it, jitter reorders freely.
	InOrder bool
	// Rate is the inbound link's capacity in bits a second, shared by the
	// Net's sockets (0: unlimited).
	Rate int
	// QueueDelay is the longest a datagram queues for the link before it
	// is dropped (0: DefaultQueueDelay). Only with a Rate.
	QueueDelay time.Duration
	// Seed makes the drops and delays repeatable: socket i of a Net uses
	// Seed+i. 0 picks a random seed.
	Seed uint64
}

// Enabled reports whether c impairs anything.
func (c Config) Enabled() bool { return c.Loss > 0 || c.Jitter > 0 || c.Rate > 0 }

// Validate checks c's ranges.
func (c Config) Validate() error {
	// NaN fails both comparisons, so test for the good range.
	if !(c.Loss >= 0 && c.Loss <= 1) {
		return fmt.Errorf("%w: loss %v, want 0..1", ErrBadConfig, c.Loss)
	}
	if c.Jitter < 0 || c.Jitter > MaxJitter {
		return fmt.Errorf("%w: jitter %v, want 0..%v", ErrBadConfig, c.Jitter, MaxJitter)
	}
	if c.Rate < 0 {
		return fmt.Errorf("%w: rate %d bit/s, want 0 (unlimited) or more", ErrBadConfig, c.Rate)
	}
	if c.QueueDelay < 0 || c.QueueDelay > MaxJitter {
		return fmt.Errorf("%w: queue delay %v, want 0..%v", ErrBadConfig, c.QueueDelay, MaxJitter)
	}
	return nil
}

// Stats counts the inbound datagrams of every socket of a Net.
type Stats struct {
	Received  uint64 // read from the sockets
	Dropped   uint64 // dropped on purpose (Loss)
	Overflow  uint64 // dropped because the delay queue was full
	Shaped    uint64 // dropped because the link's queue was full (Rate)
	Delivered uint64 // handed to the reader
	Reordered uint64 // delivered after a datagram that arrived later
}

type counters struct {
	received, dropped, overflow, shaped, delivered, reordered atomic.Uint64
}

// Net wraps a transport.Net; the UDP sockets it opens are impaired. TCP and
// everything else pass through.
type Net struct {
	transport.Net
	cfg   Config
	conns atomic.Uint64 // sockets opened, for their seeds
	seed  uint64
	st    counters
	link  link
}

// link is the Net's shaped inbound path: a FIFO served at rate.
type link struct {
	mu    sync.Mutex
	rate  int // bit/s; 0: unlimited
	queue time.Duration
	free  time.Time // when the link has sent all it has queued
}

// admit queues an n-byte datagram that arrived at now: it returns when it
// has crossed the link, or false when the queue is full.
func (l *link) admit(now time.Time, n int) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate <= 0 {
		return now, true
	}
	start := now
	if l.free.After(now) {
		start = l.free
	}
	if start.Sub(now) > l.queue {
		return now, false
	}
	l.free = start.Add(time.Duration(int64(n+ipUDPOverhead) * 8 * int64(time.Second) / int64(l.rate)))
	return l.free, true
}

// SetRate shapes the inbound link to bps bits a second from now on (0:
// unlimited); what is queued already leaves as it was going to.
func (n *Net) SetRate(bps int) error {
	if bps < 0 {
		return fmt.Errorf("%w: rate %d bit/s, want 0 (unlimited) or more", ErrBadConfig, bps)
	}
	n.link.mu.Lock()
	defer n.link.mu.Unlock()
	n.link.rate = bps
	return nil
}

var _ transport.Net = (*Net)(nil)

// NewNet wraps inner with the impairment cfg.
func NewNet(inner transport.Net, cfg Config) (*Net, error) {
	if inner == nil {
		return nil, fmt.Errorf("%w: nil inner Net", ErrBadConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	n := &Net{Net: inner, cfg: cfg, seed: seed}
	n.link.rate, n.link.queue = cfg.Rate, cmp.Or(cfg.QueueDelay, DefaultQueueDelay)
	return n, nil
}

// Stats returns the counters of every socket opened so far.
func (n *Net) Stats() Stats {
	return Stats{
		Received:  n.st.received.Load(),
		Dropped:   n.st.dropped.Load(),
		Overflow:  n.st.overflow.Load(),
		Shaped:    n.st.shaped.Load(),
		Delivered: n.st.delivered.Load(),
		Reordered: n.st.reordered.Load(),
	}
}

func (n *Net) wrap(c transport.UDPConn) *Conn {
	i := n.conns.Add(1) - 1
	return newConn(c, n.cfg, n.seed+i, &n.st, &n.link)
}

// ListenUDP opens an impaired UDP socket.
func (n *Net) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err //nolint:wrapcheck // the inner Net's error, unchanged
	}
	return n.wrap(c), nil
}

// DialUDP opens an impaired connected UDP socket.
func (n *Net) DialUDP(network string, laddr, raddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.DialUDP(network, laddr, raddr)
	if err != nil {
		return nil, err //nolint:wrapcheck // the inner Net's error, unchanged
	}
	return n.wrap(c), nil
}

// ListenPacket impairs UDP sockets; other packet networks pass through.
func (n *Net) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if err != nil {
		return nil, err //nolint:wrapcheck // the inner Net's error, unchanged
	}
	if u, ok := c.(transport.UDPConn); ok {
		return n.wrap(u), nil
	}
	return c, nil
}
